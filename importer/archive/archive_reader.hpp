#pragma once
// libarchive reading a tar stream pulled from a cdi::source: the RAII owner of the archive* and the
// read-callback glue shared by extract_tar and tar_entry_source.
//
// Contract:
// - The stream is already decompressed: only the tar formats (ustar, GNU, pax, v7) are enabled and
//   no filter but "none".
// - The source is borrowed and must outlive the reader. It is pulled into one 1 MiB buffer owned by
//   the reader (allocated on the first read) and libarchive reads from that buffer; data is handed
//   out in libarchive's blocks, never whole files.
// - Errors are translated once here: an upstream error is returned unchanged (not libarchive's
//   generic text); a stream that fails before its first header is errc::bad_image ("not a tar
//   archive: ..."); a failure after the upstream ended cleanly is errc::bad_image ("tar archive ends
//   early: ...": the archive is short, the carrier was whole; a carrier cut short is the upstream's
//   own error, errc::truncated); any other libarchive failure is errc::bad_image ("damaged tar
//   archive: ..."). libarchive's own text stays in the
//   context.
// - A stream that ends cleanly at an entry boundary without the two zero blocks is accepted, as
//   GNU tar does. An empty stream is not a tar archive.
// - After an error the reader is unusable.
#include "cdi/source.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

struct archive;
struct archive_entry;

namespace cdi {

class archive_reader {
public:
    explicit archive_reader(source& src) noexcept;
    ~archive_reader();
    archive_reader(const archive_reader&) = delete;  // libarchive holds `this` as its client data
    archive_reader& operator=(const archive_reader&) = delete;

    // The next entry's header, or nullptr at the end of the archive. The entry belongs to the reader
    // and is valid until the next call. Data of the previous entry not read is skipped.
    result<archive_entry*> next_entry();

    struct block {
        std::span<const std::byte> data;
        std::uint64_t offset = 0;  // where data goes in the entry; a gap before it is a hole
    };
    // The next block of the current entry's data, or nullopt at the end of that data.
    result<std::optional<block>> next_block();

    // Walks the remaining entries to the end of the archive, then reads the upstream to its clean
    // end, so stages above (checksum, digest, gzip trailer) verify the whole stream. Bytes after the
    // end-of-archive blocks are ignored, as GNU tar ignores them.
    result<void> finish();

    // libarchive's read callback (archive_read_callback); not for callers.
    std::ptrdiff_t pull(const void** out) noexcept;

private:
    struct archive_deleter {
        void operator()(archive* a) const noexcept;
    };

    result<void> open();
    error translate(const char* doing);

    source& src_;
    std::unique_ptr<archive, archive_deleter> a_;
    std::unique_ptr<std::byte[]> buf_;
    std::optional<error> src_error_;  // the upstream's own error, returned instead of libarchive's
    std::uint64_t pulled_ = 0;  // bytes taken from the upstream
    bool opened_ = false;
    bool upstream_eof_ = false;
    bool archive_eof_ = false;
    bool any_header_ = false;
};

}  // namespace cdi
