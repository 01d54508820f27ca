#include "convert/raw_copy.hpp"

#include "convert/aligned_buffer.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace cdi::test {
namespace {

TEST(raw_copy, round_trips_every_read_size_without_flushing) {
    auto data = random_bytes(300000, 9);
    aligned_buffer buf(64 * 1024);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{4095}, std::size_t{65536}, std::size_t{1} << 20}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        scripted_source src(data, chunk);
        recording_sink dst;
        auto n = raw_copy(src, dst, buf.span());
        ASSERT_TRUE(n) << n.error().message();
        EXPECT_EQ(*n, data.size());
        EXPECT_EQ(dst.data(), data);
        EXPECT_EQ(dst.flushes(), 0u);
    }
}

TEST(raw_copy, writes_whole_buffers_until_the_last) {
    auto data = random_bytes(10 * 4096 + 5);
    scripted_source src(data, 1000);  // short reads are gathered into whole buffers
    recording_sink dst;
    aligned_buffer buf(4 * 4096);
    auto n = raw_copy(src, dst, buf.span());
    ASSERT_TRUE(n);
    EXPECT_EQ(dst.writes(), 3u);  // 16 KiB, 16 KiB, 8 KiB + 5
    EXPECT_EQ(dst.data(), data);
}

TEST(raw_copy, empty_source_copies_nothing) {
    empty_source src;
    recording_sink dst;
    aligned_buffer buf(4096);
    auto n = raw_copy(src, dst, buf.span());
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    EXPECT_EQ(dst.writes(), 0u);
}

TEST(raw_copy, empty_buffer_is_bad_request) {
    scripted_source src(random_bytes(10));
    recording_sink dst;
    auto n = raw_copy(src, dst, {});
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::bad_request));
}

TEST(raw_copy, canceled_token_stops_before_the_first_read) {
    scripted_source src(random_bytes(100000));
    recording_sink dst;
    cancel_token token;
    token.cancel();
    aligned_buffer buf(4096);
    auto n = raw_copy(src, dst, buf.span(), &token);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::canceled));
    EXPECT_EQ(src.reads(), 0u);
    EXPECT_EQ(dst.writes(), 0u);
}

TEST(raw_copy, cancel_mid_copy_stops_between_chunks) {
    auto data = random_bytes(100 * 4096);
    scripted_source inner(data, 4096);
    cancel_token token;
    canceling_source src(inner, token, 5);
    recording_sink dst;
    aligned_buffer buf(4096);
    auto n = raw_copy(src, dst, buf.span(), &token);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::canceled));
    EXPECT_EQ(n.error().context, "copy canceled after 20480 bytes");
    EXPECT_EQ(dst.data().size(), 5u * 4096);
}

TEST(raw_copy, source_fault_propagates) {
    scripted_source src(random_bytes(100000), 4096, 3);
    recording_sink dst;
    aligned_buffer buf(4096);
    auto n = raw_copy(src, dst, buf.span());
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io));
    EXPECT_EQ(n.error().context, "injected read fault");
    EXPECT_EQ(dst.data().size(), 2u * 4096);
}

TEST(raw_copy, sink_fault_propagates) {
    scripted_source src(random_bytes(100000), 4096);
    recording_sink dst(4);
    aligned_buffer buf(4096);
    auto n = raw_copy(src, dst, buf.span());
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io));
    EXPECT_EQ(n.error().context, "injected sink fault");
    EXPECT_EQ(dst.writes(), 3u);
}

TEST(raw_copy, sink_capacity_error_stops_the_copy) {
    scripted_source src(random_bytes(100000));
    recording_sink dst(0, 50000);
    aligned_buffer buf(8192);
    auto n = raw_copy(src, dst, buf.span());
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::too_large));
    EXPECT_LE(dst.data().size(), 50000u);
}

TEST(aligned_buffer, is_aligned_zeroed_and_movable) {
    aligned_buffer a(3 * 4096 + 10);
    EXPECT_EQ(a.size(), 3u * 4096 + 10);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 4096, 0u);
    for (auto b : a.span()) ASSERT_EQ(b, std::byte{0});
    a.span()[5] = std::byte{3};
    auto* p = a.data();
    aligned_buffer b(std::move(a));
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(b.span()[5], std::byte{3});
    EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    aligned_buffer c(512, 512);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(c.data()) % 512, 0u);
    c = std::move(b);
    EXPECT_EQ(c.data(), p);
    EXPECT_EQ(c.size(), 3u * 4096 + 10);
}

}  // namespace
}  // namespace cdi::test
