#pragma once
// The bounded window of a stream-order qcow2 decode: bytes that went past before the table that
// could name them had arrived. Held by host offset until a table claims them (take) or every table
// has arrived and they are proven unreferenced (clear).
//
// Policy: memory first, up to the limit. Past it, when the origin can serve the bytes again by
// position (remote: an HTTP origin taking ranges, cdi/range_reader.hpp), only the positions are kept
// and copy_out names the parts the caller must read again; else, when given a spill file (the
// importer's scratch volume), the bytes are appended to it and read back when claimed
// (qcow2_stream_spill.hpp; its own limit is the scratch space: errc::no_space past it). Positions are
// bounded too (max_remote_runs index entries); past them the spill file, if any, takes over. With
// neither, holding more than the limit is refused with errc::scratch_required: the image's layout
// needs the whole file first, and the caller falls back to scratch + qemu-img.
//
// Pieces in memory never cross a cluster boundary, so a claim releases whole pieces. A spilled or
// remote piece is one run of a put (up to a chunk), one index entry however many clusters it spans;
// it is released as if it were cut at cluster boundaries: the clusters' parts lying wholly inside a
// released range go.
// Thread-safety: none.
#include "cdi/error.hpp"
#include "cdi/range_reader.hpp"
#include "convert/qcow2_stream_spill.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace cdi {

class stream_window {
public:
    // Index entries of positions kept for re-reading (a few MiB of map at most); then spill or refuse.
    static constexpr std::size_t max_remote_runs = std::size_t{1} << 16;

    stream_window(std::uint64_t limit, std::uint64_t cluster_size, std::optional<spill_options> spill = std::nullopt,
                  bool remote = false);

    // Keeps data, which sits at host offset off; bytes already held are not stored twice.
    result<void> put(std::uint64_t off, std::span<const std::byte> data);
    // Copies [off, off + out.size()) into out; false when any byte of it is not held. Bytes kept as
    // positions only are appended to reread (parts of out to read again from the origin); without
    // reread they are an error.
    result<bool> copy_out(std::uint64_t off, std::span<std::byte> out, std::vector<range_part>* reread = nullptr);
    // Drops the pieces lying wholly inside [off, off + len) (spilled runs: their clusters' parts).
    void release(std::uint64_t off, std::uint64_t len);
    // Drops everything; the spill file is closed, so its space is freed at once.
    void clear() noexcept;

    std::uint64_t held() const noexcept { return held_; }  // in memory
    std::uint64_t peak() const noexcept { return peak_; }  // most held in memory at once
    std::uint64_t limit() const noexcept { return limit_; }
    std::uint64_t spilled() const noexcept { return spill_ ? spill_->in_use() : 0; }
    std::uint64_t spill_peak() const noexcept { return spill_ ? spill_->peak() : 0; }
    std::uint64_t spill_bytes_written() const noexcept { return spill_ ? spill_->bytes_written() : 0; }
    const stream_spill* spill() const noexcept { return spill_ ? &*spill_ : nullptr; }
    std::uint64_t remote_bytes() const noexcept { return remote_total_; }  // passed over as positions, in all

private:
    struct piece {
        std::uint64_t len = 0;
        std::uint64_t spill_at = 0;    // file offset of the first byte, when spilled
        std::vector<std::byte> bytes;  // the bytes when in memory; empty when spilled or remote
        bool remote = false;           // positions only: read again from the origin when claimed
        bool in_memory() const noexcept { return !bytes.empty(); }
    };
    using piece_map = std::map<std::uint64_t, piece>;

    // Stores [off, off + data.size()), which no piece holds: memory first, then the spill file.
    result<void> store_gap(std::uint64_t off, std::span<const std::byte> data);
    result<void> spill_run(std::uint64_t off, std::span<const std::byte> data);
    // A spilled or remote run, released as if cut at cluster boundaries.
    piece_map::iterator release_run(piece_map::iterator it, std::uint64_t off, std::uint64_t end);
    // The piece holding byte off, or the first one after it.
    piece_map::iterator first_at_or_after(std::uint64_t off);

    std::uint64_t limit_;
    std::uint64_t cluster_;
    std::optional<stream_spill> spill_;
    bool remote_;
    std::size_t remote_runs_ = 0;
    std::uint64_t remote_total_ = 0;
    piece_map pieces_;  // disjoint, by host offset
    std::uint64_t held_ = 0;
    std::uint64_t peak_ = 0;
};

}  // namespace cdi
