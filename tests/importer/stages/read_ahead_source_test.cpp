// read_ahead_source: the upstream's bytes in order, then its end or its error as the upstream gave
// them; no thread for a source never read; and destroying it while its thread waits in a stalled
// upstream interrupts that read instead of waiting for it.
#include "importer/stages/read_ahead_source.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace cdi {
namespace {

using namespace std::chrono_literals;

TEST(read_ahead_source, passes_the_upstreams_bytes_in_order_whatever_the_read_and_slot_sizes) {
    const test::bytes data = test::random_bytes(300'000, 21);
    for (const std::size_t chunk : {std::size_t{1} << 20, std::size_t{777}}) {
        for (const std::size_t slot : {std::size_t{1000}, std::size_t{65'536}, std::size_t{1} << 20}) {
            for (const std::size_t consumer : {std::size_t{1}, std::size_t{4096}, std::size_t{100'000}}) {
                read_ahead_source src(std::make_unique<test::scripted_source>(data, chunk), 3, slot);
                EXPECT_EQ(src.size_hint(), data.size());
                auto out = test::drain(src, consumer);
                ASSERT_TRUE(out) << out.error().message();
                EXPECT_EQ(*out, data) << "chunk " << chunk << " slot " << slot << " consumer " << consumer;
                test::bytes more(10);
                auto again = src.read(more);
                ASSERT_TRUE(again);
                EXPECT_EQ(*again, 0u) << "the end stays the end";
            }
        }
    }
}

TEST(read_ahead_source, delivers_every_byte_read_before_the_upstreams_error_then_the_error) {
    const test::bytes data = test::random_bytes(10'000, 22);
    // The 4th read of 1,000 bytes fails: 3,000 bytes, then errc::io.
    read_ahead_source src(std::make_unique<test::scripted_source>(data, 1000, 4), 2, 4096);
    test::bytes got;
    test::bytes buf(512);
    result<std::size_t> n = std::size_t{0};
    for (;;) {
        n = src.read(buf);
        if (!n || *n == 0) break;
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io)) << n.error().message();
    EXPECT_EQ(got, test::bytes(data.begin(), data.begin() + 3000));
    auto again = src.read(buf);
    ASSERT_FALSE(again);
    EXPECT_TRUE(again.error().is(errc::io));
}

TEST(read_ahead_source, reads_nothing_until_read_then_reads_to_the_upstreams_end) {
    const test::bytes data = test::random_bytes(50'000, 23);
    auto up = std::make_unique<test::scripted_source>(data, 4096);
    auto* upstream = up.get();
    read_ahead_source src(std::move(up), 2, 8192);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(upstream->reads(), 0u) << "no read before the consumer's first";
    test::bytes head(100);
    ASSERT_TRUE(src.read(head));
    ASSERT_TRUE(test::drain(src));
    // The scripted source has given all its bytes and its end: the thread read to the end.
    test::bytes rest(10);
    auto n = upstream->read(rest);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
}

TEST(read_ahead_source, interrupt_ends_a_stalled_upstream_read_and_the_consumer_gets_the_bytes_then_the_error) {
    auto up = std::make_unique<test::stalling_source>(test::bytes{std::byte{42}});
    auto* upstream = up.get();
    read_ahead_source src(std::move(up), 2, 4096);
    test::bytes buf(1);
    // The slot holds 1 byte and waits for more: the consumer gets nothing yet.
    std::thread consumer([&] { ASSERT_TRUE(src.read(buf)); });
    upstream->wait_stalled();
    src.interrupt();  // forwarded to the upstream: its stalled read fails
    consumer.join();
    EXPECT_EQ(buf[0], std::byte{42});
    auto n = src.read(buf);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::canceled)) << n.error().message();
}

TEST(read_ahead_source, destroyed_while_its_thread_waits_in_a_stalled_upstream_returns_at_once) {
    auto up = std::make_unique<test::stalling_source>(test::bytes{std::byte{42}});
    auto* upstream = up.get();
    auto src = std::make_unique<read_ahead_source>(std::move(up), 2, 1);  // 1-byte slots: the first fills at once
    test::bytes buf(1);
    auto n = src->read(buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    upstream->wait_stalled();  // the thread is in the upstream's second read, which never ends by itself
    const auto start = std::chrono::steady_clock::now();
    src.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace cdi
