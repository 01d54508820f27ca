#pragma once
// Reads its upstream on a thread of its own, a few slots ahead of the consumer, so what the
// upstream does per byte (receive, hash, inflate) runs beside the consumer's work (untar, decode)
// instead of between its steps. Measured on a containerdisk import (docs/performance.md): with the
// gzip layer's inflate on this thread, the bench's 486 MB layer imports in 1.40 s instead of 1.50 s.
//
// Contract:
// - read() returns the upstream's bytes in order, then its end (0) or its error, as the upstream
//   would have: a source stage like any other.
// - The thread starts at the first read(), fills `slots` buffers of `slot_size` bytes (each filled
//   whole, or up to the upstream's end or error) and waits while all are full: backpressure, and
//   memory of slots × slot_size.
// - The upstream is touched by the thread only, from the first read() on; size_hint() is taken
//   once, at construction. Once read() has returned the end or an error, the thread has stopped
//   reading, and the upstream (a checksum_source below, say) may be used again by the caller.
// - The destructor interrupts the upstream (source::interrupt: a read waiting on the network
//   returns soon) and joins the thread, so a failed job does not wait for a stalled origin.
// Thread-safety: one consumer thread; the reading thread is internal.
#include "cdi/source.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace cdi {

class read_ahead_source final : public source {
public:
    static constexpr std::size_t default_slots = 4;
    static constexpr std::size_t default_slot_size = 1u << 20;

    explicit read_ahead_source(source_ptr upstream, std::size_t slots = default_slots,
                               std::size_t slot_size = default_slot_size);
    ~read_ahead_source() override;
    read_ahead_source(const read_ahead_source&) = delete;
    read_ahead_source& operator=(const read_ahead_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return hint_; }
    void interrupt() noexcept override;

private:
    struct filled {
        std::size_t slot;
        std::size_t len;
    };

    void fill();  // the thread's loop

    source_ptr upstream_;
    std::optional<std::uint64_t> hint_;
    std::size_t slot_size_;
    std::vector<std::unique_ptr<std::byte[]>> buffers_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<filled> full_;             // in stream order
    std::vector<std::size_t> free_;
    std::size_t taken_ = 0;               // bytes of full_.front() the consumer has read
    bool ended_ = false;                  // the thread has pushed its last slot: end_ says how it ended
    std::optional<error> end_error_;      // the upstream's error (none: a clean end)
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cdi
