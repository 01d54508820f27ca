// write_behind_output: writes reach the target in order, from a few reused slots, contiguous ones
// gathered into one write while the writer is busy, and the target's first failure comes back to
// the caller.
#include "convert/write_behind_output.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace cdi::test {
namespace {

// Records every call; fails the write at fail_at when set.
class recording_output final : public positional_output {
public:
    struct call {
        std::uint64_t offset;
        bytes data;  // empty for zero_at
        std::uint64_t zero_len;
    };
    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override {
        if (fail_at && offset <= *fail_at && *fail_at < offset + data.size()) return make_error(errc::io, "injected write failure");
        if (hold_first) {  // the writer thread stays in its first write until release()
            std::unique_lock lock(mutex);
            hold_first = false;
            holding = true;
            changed.notify_all();
            changed.wait(lock, [&] { return !holding; });
        }
        std::lock_guard lock(mutex);
        calls.push_back({offset, bytes(data.begin(), data.end()), 0});
        if (reinterpret_cast<std::uintptr_t>(data.data()) % 4096 != offset % 4096) misaligned = true;
        return {};
    }
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override {
        std::lock_guard lock(mutex);
        calls.push_back({offset, {}, len});
        return {};
    }
    result<void> flush() override {
        flushed = true;
        return {};
    }
    void wait_until_holding() {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return holding; });
    }
    void release() {
        {
            std::lock_guard lock(mutex);
            holding = false;
        }
        changed.notify_all();
    }
    std::mutex mutex;
    std::condition_variable changed;
    bool hold_first = false;
    bool holding = false;
    std::vector<call> calls;
    std::optional<std::uint64_t> fail_at;
    bool misaligned = false;
    std::atomic<bool> flushed{false};
};

TEST(write_behind_output, writes_reach_the_target_in_order_aligned_and_split_at_the_slot_size) {
    recording_output target;
    const bytes data = random_bytes(3 * 4096 + 100, 3);
    {
        write_behind_output out(target, 2, 4096);
        ASSERT_TRUE(out.write_at(512, data));  // more than a slot: split
        ASSERT_TRUE(out.zero_at(100000, 4096));
        ASSERT_TRUE(out.write_at(0, std::span(data).first(512)));
        ASSERT_TRUE(out.flush());
    }
    EXPECT_TRUE(target.flushed);
    EXPECT_FALSE(target.misaligned) << "bytes must sit at their target offset modulo 4 KiB";
    bytes joined;
    std::uint64_t next = 512;
    std::size_t i = 0;
    for (; i < target.calls.size() && target.calls[i].zero_len == 0; ++i) {
        EXPECT_EQ(target.calls[i].offset, next);
        EXPECT_LE(target.calls[i].data.size(), 4096u + 4096u);
        joined.insert(joined.end(), target.calls[i].data.begin(), target.calls[i].data.end());
        next += target.calls[i].data.size();
    }
    EXPECT_GT(i, 1u) << "a write larger than a slot is split";
    EXPECT_EQ(joined, data);
    ASSERT_EQ(target.calls.size(), i + 2);
    EXPECT_EQ(target.calls[i].offset, 100000u);
    EXPECT_EQ(target.calls[i].zero_len, 4096u);
    EXPECT_EQ(target.calls[i + 1].offset, 0u);
}

TEST(write_behind_output, contiguous_writes_queued_behind_a_busy_writer_reach_the_target_as_one_write_of_at_most_a_slot) {
    recording_output target;
    target.hold_first = true;
    const bytes data = random_bytes(6 * 4096, 6);
    const auto part = [&](std::size_t from, std::size_t n) { return std::span<const std::byte>(data).subspan(from, n); };
    {
        write_behind_output out(target, 4, 4096);
        ASSERT_TRUE(out.write_at(0, part(0, 1024)));
        target.wait_until_holding();  // the writer has taken the first write: it takes no more bytes
        ASSERT_TRUE(out.write_at(1024, part(1024, 1024)));
        ASSERT_TRUE(out.write_at(2048, part(2048, 2048)));
        ASSERT_TRUE(out.write_at(4096, part(4096, 4096)));  // fills the slot: 1024 + 7168 bytes
        ASSERT_TRUE(out.write_at(8192, part(8192, 1024)));  // starts the next slot
        ASSERT_TRUE(out.write_at(20000, part(20000, 100)));  // not contiguous: a write of its own
        target.release();
        ASSERT_TRUE(out.flush());
    }
    EXPECT_FALSE(target.misaligned);
    ASSERT_EQ(target.calls.size(), 4u);
    EXPECT_EQ(target.calls[0].offset, 0u);
    EXPECT_EQ(target.calls[0].data, bytes(data.begin(), data.begin() + 1024));
    EXPECT_EQ(target.calls[1].offset, 1024u);
    EXPECT_EQ(target.calls[1].data, bytes(data.begin() + 1024, data.begin() + 8192));
    EXPECT_EQ(target.calls[2].offset, 8192u);
    EXPECT_EQ(target.calls[2].data, bytes(data.begin() + 8192, data.begin() + 9216));
    EXPECT_EQ(target.calls[3].offset, 20000u);
    EXPECT_EQ(target.calls[3].data, bytes(data.begin() + 20000, data.begin() + 20100));
}

TEST(write_behind_output, the_targets_failure_comes_back_and_nothing_after_it_is_written) {
    recording_output target;
    target.fail_at = 8192;
    const bytes data = random_bytes(4096, 4);
    write_behind_output out(target, 2, 4096);
    result<void> r;
    for (std::uint64_t off = 0; off < 64 * 4096 && r; off += 4096) r = out.write_at(off, data);
    if (r) r = out.flush();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io)) << r.error().message();
    EXPECT_FALSE(target.flushed);
    std::lock_guard lock(target.mutex);
    for (const auto& c : target.calls) EXPECT_LT(c.offset, 8192u);
}

TEST(write_behind_output, destroyed_without_flush_stops_its_thread) {
    recording_output target;
    const bytes data = random_bytes(4096, 5);
    {
        write_behind_output out(target, 4, 4096);
        for (std::uint64_t off = 0; off < 16 * 4096; off += 4096) ASSERT_TRUE(out.write_at(off, data));
    }
    EXPECT_FALSE(target.flushed);
}

}  // namespace
}  // namespace cdi::test
