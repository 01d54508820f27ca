// overlapped_copy: raw_copy's contract with the reads on the caller's thread and the writes on a
// writer thread; every case also runs under ASan/UBSan in CI (the unit label).
#include "convert/overlapped_copy.hpp"

#include "convert/aligned_buffer.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace cdi::test {
namespace {

// A sink that records like recording_sink but takes its time, so the reader runs ahead and fills
// the other buffer while a write is in progress; it also notes on which thread it was called.
class slow_sink final : public sink {
public:
    explicit slow_sink(std::chrono::microseconds delay) : delay_(delay) {}
    result<void> write(std::span<const std::byte> d) override {
        thread_ = std::this_thread::get_id();
        std::this_thread::sleep_for(delay_);
        data_.insert(data_.end(), d.begin(), d.end());  // copied only after the delay: a reused buffer would show
        return {};
    }
    result<void> zero(std::uint64_t len) override {
        data_.insert(data_.end(), len, std::byte{0});
        return {};
    }
    result<void> flush() override { return {}; }
    std::uint64_t offset() const override { return data_.size(); }
    std::optional<std::uint64_t> capacity() const override { return std::nullopt; }
    sink_caps caps() const override { return {}; }
    const bytes& data() const { return data_; }
    std::thread::id thread() const { return thread_; }

private:
    std::chrono::microseconds delay_;
    bytes data_;
    std::thread::id thread_;
};

TEST(overlapped_copy, round_trips_every_read_size_in_order) {
    auto data = random_bytes(300000, 9);
    aligned_buffer buf(2 * 16384);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{4095}, std::size_t{65536}, std::size_t{1} << 20}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        scripted_source src(data, chunk);
        recording_sink dst;
        auto n = overlapped_copy(src, dst, buf.span().first(16384), buf.span().last(16384));
        ASSERT_TRUE(n) << n.error().message();
        EXPECT_EQ(*n, data.size());
        EXPECT_EQ(dst.data(), data);
        EXPECT_EQ(dst.flushes(), 0u);
    }
}

TEST(overlapped_copy, a_slow_sink_never_sees_a_buffer_refilled_under_it_and_runs_on_the_writer_thread) {
    auto data = random_bytes(64 * 4096 + 77, 3);
    scripted_source src(data, 1000);
    slow_sink dst(std::chrono::microseconds(300));
    aligned_buffer buf(2 * 4 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4 * 4096), buf.span().last(4 * 4096));
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(dst.data(), data);
    EXPECT_NE(dst.thread(), std::this_thread::get_id());
}

TEST(overlapped_copy, writes_whole_buffers_until_the_last) {
    auto data = random_bytes(10 * 4096 + 5);
    scripted_source src(data, 1000);
    recording_sink dst;
    aligned_buffer buf(2 * 4 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4 * 4096), buf.span().last(4 * 4096));
    ASSERT_TRUE(n);
    EXPECT_EQ(dst.writes(), 3u);  // 16 KiB, 16 KiB, 8 KiB + 5
    EXPECT_EQ(dst.data(), data);
}

TEST(overlapped_copy, empty_source_copies_nothing) {
    empty_source src;
    recording_sink dst;
    aligned_buffer buf(2 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(4096));
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    EXPECT_EQ(dst.writes(), 0u);
}

TEST(overlapped_copy, unequal_or_empty_buffers_are_bad_request) {
    scripted_source src(random_bytes(10));
    recording_sink dst;
    aligned_buffer buf(3 * 4096);
    EXPECT_TRUE(overlapped_copy(src, dst, {}, {}).error().is(errc::bad_request));
    EXPECT_TRUE(overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(8192)).error().is(errc::bad_request));
}

TEST(overlapped_copy, canceled_token_stops_before_the_first_read) {
    scripted_source src(random_bytes(100000));
    recording_sink dst;
    cancel_token token;
    token.cancel();
    aligned_buffer buf(2 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(4096), &token);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::canceled));
    EXPECT_EQ(src.reads(), 0u);
    EXPECT_EQ(dst.writes(), 0u);
}

TEST(overlapped_copy, cancel_mid_copy_stops_between_chunks) {
    auto data = random_bytes(100 * 4096);
    scripted_source inner(data, 4096);
    cancel_token token;
    canceling_source src(inner, token, 5);
    recording_sink dst;
    aligned_buffer buf(2 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(4096), &token);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::canceled));
    EXPECT_EQ(n.error().context, "copy canceled after 20480 bytes");
    // Chunks read but not yet written are abandoned: the job fails anyway.
    EXPECT_LE(dst.data().size(), 5u * 4096);
    EXPECT_EQ(dst.data(), bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(dst.data().size())));
}

TEST(overlapped_copy, source_fault_propagates_and_nothing_after_it_is_written) {
    auto data = random_bytes(100000);
    scripted_source src(data, 4096, 3);
    recording_sink dst;
    aligned_buffer buf(2 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(4096));
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io));
    EXPECT_EQ(n.error().context, "injected read fault");
    // The chunks read before the fault may or may not have been written; never anything else.
    EXPECT_LE(dst.data().size(), 2u * 4096);
    EXPECT_EQ(dst.data(), bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(dst.data().size())));
}

TEST(overlapped_copy, sink_fault_propagates_and_stops_the_reader) {
    scripted_source src(random_bytes(400000), 4096);
    recording_sink dst(4);
    aligned_buffer buf(2 * 4096);
    auto n = overlapped_copy(src, dst, buf.span().first(4096), buf.span().last(4096));
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io));
    EXPECT_EQ(n.error().context, "injected sink fault");
    EXPECT_EQ(dst.writes(), 3u);
    // The reader is at most two buffers ahead of the failed write.
    EXPECT_LE(src.reads(), 6u);
}

TEST(overlapped_copy, sink_capacity_error_stops_the_copy) {
    scripted_source src(random_bytes(100000));
    recording_sink dst(0, 50000);
    aligned_buffer buf(2 * 8192);
    auto n = overlapped_copy(src, dst, buf.span().first(8192), buf.span().last(8192));
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::too_large));
    EXPECT_LE(dst.data().size(), 50000u);
}

}  // namespace
}  // namespace cdi::test
