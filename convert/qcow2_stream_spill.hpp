#pragma once
// The scratch file behind a stream-order qcow2 decode's window (issue 14): bytes the window cannot
// keep in memory are appended here and read back (pread) when a table claims them.
//
// The file has no name: open(dir, O_TMPFILE), so the kernel frees it on any exit, a crash included,
// and the scratch directory is empty afterwards by construction. Where O_TMPFILE is refused
// (EOPNOTSUPP, EISDIR) a uniquely named file is created with O_EXCL and unlinked at once. The file
// is created at the first append only: a decode that never spills creates nothing.
//
// Space: bytes in use (appended, not yet released) are counted against the limit (the caller passes
// the scratch volume's free space); an append past it is errc::no_space. Released ranges give their
// space back: every file block that touches a released range and holds no byte in use is punched
// (fallocate PUNCH_HOLE | KEEP_SIZE), and when nothing is in use the file is truncated to 0 and
// appends start again at offset 0. Where punching is refused the file's length is what counts.
// Partial blocks at the edges of pieces in use stay allocated: the disk may hold up to two blocks per
// piece more than the count (ENOSPC is errc::no_space too).
//
// direct: O_DIRECT (CACHE_MODE=TRYNONE), so spilled bytes do not fill the page cache. Appends gather
// in a 1 MiB aligned staging buffer written as whole aligned blocks; reads of written bytes go through
// an aligned bounce buffer (1 MiB, allocated at the first such read). A filesystem that refuses
// O_DIRECT (EINVAL, at open or at a write or read) turns it off for good, as target_sink does.
//
// Memory: one map entry per run of bytes in use (file-contiguous appends merge), plus the two buffers
// when direct. Thread-safety: none.
#include "cdi/error.hpp"
#include "cdi/unique_fd.hpp"
#include "convert/aligned_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>

namespace cdi {

struct spill_options {
    std::filesystem::path dir;  // where the file is created (the importer's scratch volume)
    std::uint64_t limit = 0;    // bytes in use the file may hold; 0: none
    bool direct = false;        // write (and read) with O_DIRECT, falling back to buffered I/O
};

class stream_spill {
public:
    // How the file is created: unnamed (O_TMPFILE) when the filesystem allows, else a named file
    // unlinked at once. named_only is the fallback on its own, for tests.
    enum class naming { tmpfile_first, named_only };

    explicit stream_spill(spill_options opts, naming how = naming::tmpfile_first);

    // Appends data; returns the file offset it starts at. Past the limit: errc::no_space, nothing written.
    result<std::uint64_t> append(std::span<const std::byte> data);
    // Reads [at, at + out.size()), which must lie in bytes appended and not released.
    result<void> read(std::uint64_t at, std::span<std::byte> out);
    // The bytes [at, at + len) are no longer needed (each released once).
    void release(std::uint64_t at, std::uint64_t len);
    // Releases everything and closes the file (its space is freed at once); a later append opens a new one.
    void clear() noexcept;

    std::uint64_t in_use() const noexcept { return in_use_; }
    // What counts against the limit: the bytes in use, or the file's length where punching is refused.
    std::uint64_t charged() const noexcept { return punch_ ? in_use_ : end_; }
    std::uint64_t peak() const noexcept { return peak_; }
    std::uint64_t bytes_written() const noexcept { return written_; }
    std::uint64_t limit() const noexcept { return opts_.limit; }
    bool has_file() const noexcept { return static_cast<bool>(fd_); }
    bool direct() const noexcept { return direct_; }
    // Bytes the file occupies on disk now (st_blocks); 0 when no file is open.
    std::uint64_t allocated_bytes() const noexcept;

private:
    result<void> create_file();
    result<void> write_at(std::uint64_t at, std::span<const std::byte> data);
    result<void> read_at(std::uint64_t at, std::span<std::byte> out);
    result<void> read_direct(std::uint64_t at, std::span<std::byte> out);
    // Writes the full staging buffer (direct) at flushed_.
    result<void> flush_staging();
    // O_DIRECT refused: turns it off for good and writes what the staging buffer holds, buffered.
    result<void> fall_back_to_buffered(int err);
    // Punches the blocks touching the released [at, at + len) that hold no byte in use.
    void punch(std::uint64_t at, std::uint64_t len);

    spill_options opts_;
    naming naming_;
    unique_fd fd_;
    bool direct_ = false;                        // O_DIRECT is on for fd_
    bool punch_ = true;                          // fallocate(PUNCH_HOLE) works here
    std::map<std::uint64_t, std::uint64_t> live_;  // file offset -> length: bytes in use, disjoint
    std::uint64_t end_ = 0;                      // where the next append goes
    std::uint64_t flushed_ = 0;                  // bytes below it are in the file; buffered: == end_
    std::size_t filled_ = 0;                     // direct: staging_ holds the bytes [flushed_, flushed_ + filled_)
    std::optional<aligned_buffer> staging_;      // direct only
    std::optional<aligned_buffer> bounce_;       // direct only, from the first read of bytes in the file
    std::uint64_t in_use_ = 0;
    std::uint64_t peak_ = 0;
    std::uint64_t written_ = 0;
};

}  // namespace cdi
