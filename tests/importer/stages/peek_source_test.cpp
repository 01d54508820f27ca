#include "importer/stages/peek_source.hpp"

#include "importer/stages/memory_source.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using test::bytes;
using test::scripted_source;

// An upstream without a size hint, counting reads after its end.
class unsized_source final : public source {
public:
    explicit unsized_source(bytes data) : data_(std::move(data)) {}
    result<std::size_t> read(std::span<std::byte> buf) override {
        if (pos_ == data_.size()) ++reads_after_end_;
        std::size_t n = std::min(buf.size(), data_.size() - pos_);
        std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), n, buf.begin());
        pos_ += n;
        return n;
    }
    int reads_after_end_ = 0;

private:
    bytes data_;
    std::size_t pos_ = 0;
};

TEST(peek_source, replays_exactly_with_one_byte_upstream_and_tiny_buffers) {
    const bytes data = test::random_bytes(1000, 3);
    for (std::size_t window : {0u, 1u, 100u, 999u, 1000u, 4096u}) {
        for (std::size_t buf : {1u, 3u, 7u, 512u}) {
            auto p = peek_source::make(std::make_unique<scripted_source>(data, 1), window);
            ASSERT_TRUE(p) << p.error().message();
            const std::size_t want = std::min(window, data.size());
            ASSERT_EQ((*p)->head().size(), want);
            EXPECT_TRUE(std::equal((*p)->head().begin(), (*p)->head().end(), data.begin()));
            auto out = test::drain(**p, buf);
            ASSERT_TRUE(out) << out.error().message();
            EXPECT_EQ(*out, data) << "window " << window << " buf " << buf;
        }
    }
}

TEST(peek_source, default_window_is_the_sniff_window) {
    const bytes data = test::random_bytes(sniff_window + 10, 4);
    auto p = peek_source::make(std::make_unique<scripted_source>(data, 4096));
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)->head().size(), sniff_window);
    EXPECT_FALSE((*p)->ended());
    EXPECT_EQ(*test::drain(**p), data);
}

TEST(peek_source, short_stream_is_all_head_and_upstream_is_not_read_again) {
    auto up = std::make_unique<unsized_source>(test::to_bytes("hello"));
    auto* raw = up.get();
    auto p = peek_source::make(std::move(up), 64);
    ASSERT_TRUE(p);
    EXPECT_TRUE((*p)->ended());
    EXPECT_EQ((*p)->size_hint(), 5u);  // exact once the end was seen, though the upstream gave none
    EXPECT_EQ(*test::drain(**p, 2), test::to_bytes("hello"));
    bytes buf(8);
    EXPECT_EQ(*(*p)->read(buf), 0u);
    EXPECT_EQ(raw->reads_after_end_, 1);  // only the read inside read_full that found the end
}

TEST(peek_source, empty_stream_gives_empty_head_and_clean_end) {
    auto p = peek_source::make(std::make_unique<memory_source>(std::span<const std::byte>{}), 64);
    ASSERT_TRUE(p);
    EXPECT_TRUE((*p)->head().empty());
    bytes buf(8);
    EXPECT_EQ(*(*p)->read(buf), 0u);
}

TEST(peek_source, size_hint_passes_through_while_unended) {
    auto p = peek_source::make(std::make_unique<scripted_source>(test::random_bytes(300), 7), 100);
    ASSERT_TRUE(p);
    EXPECT_EQ((*p)->size_hint(), 300u);
    auto q = peek_source::make(std::make_unique<unsized_source>(test::random_bytes(300)), 100);
    ASSERT_TRUE(q);
    EXPECT_EQ((*q)->size_hint(), std::nullopt);
}

TEST(peek_source, fault_during_peek_is_returned_unchanged) {
    for (std::size_t n : {1u, 2u, 50u}) {
        auto p = peek_source::make(std::make_unique<scripted_source>(test::random_bytes(1000), 10, n), 600);
        ASSERT_FALSE(p);
        EXPECT_TRUE(p.error().is(errc::io));
        EXPECT_EQ(p.error().context, "injected read fault");
    }
}

TEST(peek_source, fault_after_the_peek_reaches_the_reader) {
    // 10-byte chunks: the 100-byte window takes reads 1-10; read 12 fails after one passed-through read.
    const bytes data = test::random_bytes(1000);
    auto p = peek_source::make(std::make_unique<scripted_source>(data, 10, 12), 100);
    ASSERT_TRUE(p);
    bytes buf(64);
    std::size_t got = 0;
    result<std::size_t> r = std::size_t{0};
    while ((r = (*p)->read(buf)) && *r > 0) got += *r;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io));
    EXPECT_EQ(got, 110u);
}

}  // namespace
}  // namespace cdi
