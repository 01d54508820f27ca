#include "server/body_source.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace cdi {
namespace {

// Fills one chunk with n bytes of value v and hands it over; false when no chunk is free.
bool push_bytes(body_channel& ch, std::size_t n, unsigned char v) {
    auto chunk = ch.acquire();
    if (chunk.empty()) return false;
    std::memset(chunk.data(), v, n);
    ch.push(n);
    return true;
}

class body_source_test : public ::testing::Test {
protected:
    void TearDown() override { io_.poll(); }  // run the posted wake-ups before the channel goes
    boost::asio::io_context io_;
};

TEST_F(body_source_test, delivers_chunks_in_order_then_a_clean_end) {
    auto ch = std::make_shared<body_channel>(io_.get_executor(), 2);
    body_source src(ch, 300);
    ASSERT_TRUE(push_bytes(*ch, 100, 1));
    ASSERT_TRUE(push_bytes(*ch, 200, 2));
    ch->finish();
    std::vector<std::byte> buf(1000);
    auto n = read_full(src, buf);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 300u);
    EXPECT_EQ(buf[99], std::byte{1});
    EXPECT_EQ(buf[100], std::byte{2});
    EXPECT_EQ(buf[299], std::byte{2});
    EXPECT_EQ(src.size_hint(), 300u);
}

TEST_F(body_source_test, all_chunks_full_means_no_free_chunk_until_the_worker_releases_one) {
    auto ch = std::make_shared<body_channel>(io_.get_executor(), 2);
    body_source src(ch, std::nullopt);
    ASSERT_TRUE(push_bytes(*ch, 10, 1));
    ASSERT_TRUE(push_bytes(*ch, 10, 2));
    EXPECT_TRUE(ch->acquire().empty());  // backpressure: the socket is not read
    std::vector<std::byte> buf(10);
    ASSERT_EQ(*src.read(buf), 10u);     // consumes and releases the first chunk
    EXPECT_FALSE(ch->acquire().empty());
}

TEST_F(body_source_test, a_body_cut_short_is_an_error_even_with_data_queued) {
    auto ch = std::make_shared<body_channel>(io_.get_executor(), 2);
    body_source src(ch, 1000);
    ASSERT_TRUE(push_bytes(*ch, 10, 1));
    ch->fail(make_error(errc::truncated, "client gone"));
    std::vector<std::byte> buf(100);
    auto n = src.read(buf);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::truncated));
}

TEST_F(body_source_test, the_worker_blocks_until_the_io_side_pushes) {
    auto ch = std::make_shared<body_channel>(io_.get_executor(), 2);
    body_source src(ch, std::nullopt);
    std::thread producer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        push_bytes(*ch, 5, 7);
        ch->finish();
    });
    std::vector<std::byte> buf(100);
    auto n = read_full(src, buf);
    producer.join();
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 5u);
}

TEST_F(body_source_test, close_consumer_stops_the_io_side) {
    auto ch = std::make_shared<body_channel>(io_.get_executor(), 2);
    EXPECT_FALSE(ch->consumer_closed());
    ch->close_consumer();
    EXPECT_TRUE(ch->consumer_closed());
    EXPECT_TRUE(ch->acquire().empty());
}

}  // namespace
}  // namespace cdi
