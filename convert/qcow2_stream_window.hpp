#pragma once
// The bounded window of a stream-order qcow2 decode: bytes that went past before the table that
// could name them had arrived. Held by host offset until a table claims them (take) or every table
// has arrived and they are proven unreferenced (clear). Holding more than the limit is refused with
// errc::scratch_required: the image's layout needs the whole file first, and the caller falls back
// to scratch + qemu-img.
// Pieces never cross a cluster boundary, so a claim releases whole pieces.
// Thread-safety: none.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace cdi {

class stream_window {
public:
    stream_window(std::uint64_t limit, std::uint64_t cluster_size) : limit_(limit), cluster_(cluster_size) {}

    // Keeps data, which sits at host offset off; bytes already held are not stored twice.
    result<void> put(std::uint64_t off, std::span<const std::byte> data);
    // Copies [off, off + out.size()) into out; false when any byte of it is not held.
    bool copy_out(std::uint64_t off, std::span<std::byte> out) const;
    // Drops the pieces lying wholly inside [off, off + len).
    void release(std::uint64_t off, std::uint64_t len);
    void clear() noexcept {
        pieces_.clear();
        held_ = 0;
    }

    std::uint64_t held() const noexcept { return held_; }
    std::uint64_t peak() const noexcept { return peak_; }
    std::uint64_t limit() const noexcept { return limit_; }

private:
    result<void> put_piece(std::uint64_t off, std::span<const std::byte> data);

    std::uint64_t limit_;
    std::uint64_t cluster_;
    std::map<std::uint64_t, std::vector<std::byte>> pieces_;  // disjoint, each inside one cluster
    std::uint64_t held_ = 0;
    std::uint64_t peak_ = 0;
};

}  // namespace cdi
