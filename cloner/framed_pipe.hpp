#pragma once
// The hand-off between the cloner's two threads: the producer (reads the volume or writes the tar)
// pushes raw bytes, which are cut into 64 KiB blocks and framed (snappy_frame_writer) straight into
// one of a few fixed output slots; the sender takes each full slot, writes it to the connection and
// gives it back. Reading and framing overlap sending; when every slot is full the producer waits
// (backpressure), so memory is the slots and one 64 KiB block, allocated once.
//
// Contract:
// - Producer: write() any number of times, then finish() exactly once (with the producer's outcome).
//   write() returns errc::canceled once the sender called abort().
// - Sender: next() blocks for the next full slot; an empty span means the stream ended cleanly (the
//   producer finished with success and every byte was handed out); the producer's error is returned
//   once every slot framed before it was handed out. Each span stays valid until release().
// - The stream starts with the stream identifier; every chunk holds 1..64 KiB of data.
// - raw_bytes(): bytes given to write() so far (thread-safe), for the progress.
#include "cdi/error.hpp"
#include "cloner/snappy_frame_writer.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace cdi {

class framed_pipe {
public:
    // Eight 128 KiB slots (1 MiB): a fine-grained hand-off. Four 1 MiB slots measured 1.4-1.6 times
    // slower end to end (bench/clone.sh): each thread, and the target, waited a whole MiB at a time.
    static constexpr std::size_t default_slots = 8;
    static constexpr std::size_t default_slot_size = 128 << 10;

    explicit framed_pipe(std::size_t slots = default_slots, std::size_t slot_size = default_slot_size);
    framed_pipe(const framed_pipe&) = delete;
    framed_pipe& operator=(const framed_pipe&) = delete;

    // Producer side.
    result<void> write(std::span<const std::byte> data);
    void finish(result<void> outcome);

    // Sender side.
    result<std::span<const std::byte>> next();
    void release();
    void abort();

    std::uint64_t raw_bytes() const noexcept { return raw_bytes_.load(std::memory_order_relaxed); }

private:
    struct slot {
        std::unique_ptr<std::byte[]> data;
        std::size_t used = 0;
    };
    result<void> frame(std::span<const std::byte> block);
    // Makes room for one more framed chunk in the producer's slot, handing a full one to the sender.
    result<void> room_for_chunk();
    result<void> hand_over();  // the producer's slot to the sender; waits for a free one

    snappy_frame_writer writer_;
    std::size_t slot_size_;
    std::vector<slot> slots_;
    std::unique_ptr<std::byte[]> block_;  // a partial 64 KiB block carried between writes
    std::size_t block_len_ = 0;
    std::optional<std::size_t> filling_;  // producer's slot

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::size_t> full_;  // handed to the sender, in order
    std::vector<std::size_t> free_;
    std::optional<std::size_t> sending_;
    bool finished_ = false;
    std::optional<error> failure_;
    bool aborted_ = false;
    std::atomic<std::uint64_t> raw_bytes_{0};
};

}  // namespace cdi
