#pragma once
// A positional_output that writes behind its caller: write_at copies the bytes into one of a few
// aligned slots and returns, and a writer thread hands the slots to the target in order. So a
// stream decoder reads (the network, a decompressor) while the previous megabytes go to the disk,
// as overlapped_copy does for append-only sinks.
//
// Contract:
// - Order: the target sees every write_at and zero_at in the order they were made.
// - Memory: `slots` buffers of `slot_size` bytes (+ 4 KiB), allocated once. A write larger than a
//   slot is split. The bytes sit in a slot at the same offset modulo 4 KiB as on the target, so an
//   O_DIRECT target writes them without a bounce copy.
// - Size: a write that continues the last queued one, not yet taken by the writer, goes into that
//   slot while it has room. So while the disk is the slower side, the target gets whole slots
//   whatever the caller's write size: on the bench disk one 2 MiB O_DIRECT write at a time runs
//   at 1.3 GB/s, one 1 MiB write at 1.2 GB/s (docs/performance.md).
// - Backpressure: write_at waits while every slot is queued.
// - Errors: the first failure of the target is returned by the next call (write_at, zero_at or
//   flush); everything queued after it is dropped.
// - flush() waits until every queued write has reached the target, then flushes the target.
// - The destructor stops the writer thread (queued writes are dropped: the job failed).
// Thread-safety: one caller thread; the writer thread is internal. The target must outlive this.
#include "convert/aligned_buffer.hpp"
#include "convert/positional_output.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace cdi {

class write_behind_output final : public positional_output {
public:
    explicit write_behind_output(positional_output& target, std::size_t slots = 4, std::size_t slot_size = 2u << 20);
    ~write_behind_output() override;
    write_behind_output(const write_behind_output&) = delete;
    write_behind_output& operator=(const write_behind_output&) = delete;

    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override;
    result<void> flush() override;

private:
    static constexpr std::size_t align = 4096;

    struct job {
        std::uint64_t offset = 0;
        std::uint64_t len = 0;
        std::optional<std::size_t> slot;  // none: zero_at
        std::size_t lead = 0;             // where the bytes start in the slot
    };

    // Copies what fits of `data` into the last queued write when that write ends at `offset` and
    // the writer has not taken it yet: the bytes written so far (0: start a new slot).
    result<std::size_t> append_to_last(std::uint64_t offset, std::span<const std::byte> data);
    // Waits for a free slot; the writer's error if it failed.
    result<std::size_t> take_slot();
    result<void> enqueue(job j);
    void writer();

    positional_output& target_;
    std::size_t slot_size_;
    std::vector<aligned_buffer> buffers_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<job> queue_;
    std::vector<std::size_t> free_;
    std::optional<error> failed_;
    bool busy_ = false;  // the writer holds a job it has not finished
    bool stop_ = false;
    std::thread thread_;  // last: started once everything above exists
};

}  // namespace cdi
