#pragma once
// The bounded window of a stream-order qcow2 decode: bytes that went past before the table that
// could name them had arrived. Held by host offset until a table claims them (take) or every table
// has arrived and they are proven unreferenced (clear).
//
// Policy: memory first, up to the limit; then, when given a spill file (the importer's scratch
// volume), the bytes that would push memory past the limit are appended to it instead and read back
// when claimed (qcow2_stream_spill.hpp; its own limit is the scratch space: errc::no_space past it).
// Without a spill file, holding more than the limit is refused with errc::scratch_required: the
// image's layout needs the whole file first, and the caller falls back to scratch + qemu-img.
//
// Pieces in memory never cross a cluster boundary, so a claim releases whole pieces. A spilled piece
// is one run of a put (up to a chunk), one index entry however many clusters it spans; it is released
// as if it were cut at cluster boundaries: the clusters' parts lying wholly inside a released range go.
// Thread-safety: none.
#include "cdi/error.hpp"
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
    stream_window(std::uint64_t limit, std::uint64_t cluster_size, std::optional<spill_options> spill = std::nullopt);

    // Keeps data, which sits at host offset off; bytes already held are not stored twice.
    result<void> put(std::uint64_t off, std::span<const std::byte> data);
    // Copies [off, off + out.size()) into out; false when any byte of it is not held.
    result<bool> copy_out(std::uint64_t off, std::span<std::byte> out);
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

private:
    struct piece {
        std::uint64_t len = 0;
        std::uint64_t spill_at = 0;    // file offset of the first byte, when spilled
        std::vector<std::byte> bytes;  // the bytes when in memory; empty when spilled
        bool spilled() const noexcept { return bytes.empty(); }
    };
    using piece_map = std::map<std::uint64_t, piece>;

    // Stores [off, off + data.size()), which no piece holds: memory first, then the spill file.
    result<void> store_gap(std::uint64_t off, std::span<const std::byte> data);
    result<void> spill_run(std::uint64_t off, std::span<const std::byte> data);
    piece_map::iterator release_spilled(piece_map::iterator it, std::uint64_t off, std::uint64_t end);
    // The piece holding byte off, or the first one after it.
    piece_map::iterator first_at_or_after(std::uint64_t off);

    std::uint64_t limit_;
    std::uint64_t cluster_;
    std::optional<stream_spill> spill_;
    piece_map pieces_;  // disjoint, by host offset
    std::uint64_t held_ = 0;
    std::uint64_t peak_ = 0;
};

}  // namespace cdi
