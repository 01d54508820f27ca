#pragma once
// A sink decorator that keeps zeros off the disk: each write is scanned in blocks aligned to the
// stream offset (4 KiB by default), and all-zero blocks become target.zero() instead of data.
// Consecutive data blocks in one write go down as one write(); consecutive zero blocks, also across
// calls, as one zero() (deferred until data follows or flush()). A block split across calls (1-byte
// writes, unaligned reads) is gathered in a one-block buffer first.
//
// Capacity is checked on every append, deferred zeros included, so a zero bomb fails as soon as its
// zeros pass the target's capacity (errc::too_large), not at flush().
// Ownership: does not own the target, which must outlive it. Thread-safety: none.
#include "cdi/sink.hpp"
#include "convert/aligned_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi {

class sparse_writer final : public sink {
public:
    explicit sparse_writer(sink& target, std::size_t block = 4096);

    result<void> write(std::span<const std::byte> data) override;
    result<void> zero(std::uint64_t len) override;
    // Emits the gathered partial block and the deferred zeros, then flushes the target.
    result<void> flush() override;
    std::uint64_t offset() const override { return offset_; }
    std::optional<std::uint64_t> capacity() const override { return target_.capacity(); }
    sink_caps caps() const override { return target_.caps(); }

    // Bytes handed to the target as data, and as zeros (a whole image: data + zero = offset()).
    std::uint64_t data_bytes() const { return data_bytes_; }
    std::uint64_t zero_bytes() const { return zero_bytes_; }

private:
    result<void> check_capacity(std::uint64_t len) const;
    result<void> emit_data(std::span<const std::byte> data);
    result<void> emit_zeros();
    // Classifies and emits the gathered block.
    result<void> emit_pending();
    // Full blocks straight from the caller's memory; data.size() is a multiple of block_.
    result<void> scan_blocks(std::span<const std::byte> data);

    sink& target_;
    std::size_t block_;
    aligned_buffer pending_;        // bytes of the current block not yet emitted
    std::size_t pending_len_ = 0;
    std::uint64_t offset_;          // stream offset: emitted + deferred zeros + pending
    std::uint64_t zero_run_ = 0;    // deferred zeros, just before the pending bytes
    std::uint64_t data_bytes_ = 0;
    std::uint64_t zero_bytes_ = 0;
};

// Whether every byte of data is zero.
bool is_zero(std::span<const std::byte> data) noexcept;

}  // namespace cdi
