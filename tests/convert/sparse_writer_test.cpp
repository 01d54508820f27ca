#include "convert/sparse_writer.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace cdi::test {
namespace {

constexpr std::size_t blk = 4096;

// Records the calls a sink receives, in order: "w<len>", "z<len>", "f".
class call_log_sink final : public sink {
public:
    explicit call_log_sink(std::optional<std::uint64_t> cap = std::nullopt) : cap_(cap) {}
    result<void> write(std::span<const std::byte> d) override {
        log_.push_back("w" + std::to_string(d.size()));
        data_.insert(data_.end(), d.begin(), d.end());
        return {};
    }
    result<void> zero(std::uint64_t len) override {
        log_.push_back("z" + std::to_string(len));
        data_.resize(data_.size() + len);
        return {};
    }
    result<void> flush() override {
        log_.push_back("f");
        return {};
    }
    std::uint64_t offset() const override { return data_.size(); }
    std::optional<std::uint64_t> capacity() const override { return cap_; }
    const std::vector<std::string>& log() const { return log_; }
    const bytes& data() const { return data_; }

private:
    std::optional<std::uint64_t> cap_;
    std::vector<std::string> log_;
    bytes data_;
};

// 1 MiB of 4 KiB blocks, each all zero or random (with a non-zero byte at a random place), as in
// CDI's file_test; returns the image and its number of non-zero blocks.
std::pair<bytes, std::size_t> block_mix(std::uint32_t seed) {
    std::mt19937 gen(seed);
    bytes img(1 << 20);
    std::size_t data_blocks = 0;
    for (std::size_t off = 0; off < img.size(); off += blk) {
        if (gen() % 2) continue;
        ++data_blocks;
        // Sparse data: a single non-zero byte, so the scan must look at the whole block.
        img[off + gen() % blk] = std::byte{static_cast<unsigned char>(1 + gen() % 255)};
    }
    return {img, data_blocks};
}

void write_in_chunks(sink& s, std::span<const std::byte> img, std::size_t chunk) {
    for (std::size_t off = 0; off < img.size(); off += chunk) {
        auto r = s.write(img.subspan(off, std::min(chunk, img.size() - off)));
        ASSERT_TRUE(r) << r.error().message();
    }
}

TEST(sparse_writer, content_and_data_count_match_for_every_chunk_size) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, blk - 1, blk, blk + 1, std::size_t{65536},
                              std::size_t{100000}, std::size_t{1} << 20}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        auto [img, data_blocks] = block_mix(static_cast<std::uint32_t>(chunk));
        recording_sink rec;
        sparse_writer w(rec);
        write_in_chunks(w, img, chunk);
        ASSERT_TRUE(w.flush());
        EXPECT_EQ(rec.data(), img);
        EXPECT_EQ(w.data_bytes(), data_blocks * blk);
        EXPECT_EQ(w.zero_bytes(), img.size() - data_blocks * blk);
        EXPECT_EQ(rec.zeroed(), w.zero_bytes());
        EXPECT_EQ(w.offset(), img.size());
        EXPECT_EQ(rec.flushes(), 1u);
    }
}

TEST(sparse_writer, block_size_is_configurable) {
    auto [img, data_blocks] = block_mix(3);
    recording_sink rec;
    sparse_writer w(rec, 32 * 1024);
    write_in_chunks(w, img, 5000);
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(rec.data(), img);
    std::size_t big_data = 0;
    for (std::size_t off = 0; off < img.size(); off += 32 * 1024) {
        big_data += !is_zero(std::span(img).subspan(off, 32 * 1024));
    }
    EXPECT_EQ(w.data_bytes(), big_data * 32 * 1024);
}

TEST(sparse_writer, coalesces_runs_into_one_call_each) {
    bytes img(8 * blk);
    // data data zero zero zero data zero zero
    for (std::size_t b : {0, 1, 5}) img[b * blk + 100] = std::byte{1};
    call_log_sink log;
    sparse_writer w(log);
    ASSERT_TRUE(w.write(img));
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(log.log(), (std::vector<std::string>{"w8192", "z12288", "w4096", "z8192", "f"}));
    EXPECT_EQ(log.data(), img);
}

TEST(sparse_writer, zero_runs_coalesce_across_calls_and_with_zero) {
    bytes zeros(3 * blk);
    call_log_sink log;
    sparse_writer w(log);
    ASSERT_TRUE(w.write(zeros));
    ASSERT_TRUE(w.zero(1000));
    ASSERT_TRUE(w.write(std::span(zeros).first(blk - 1000)));
    ASSERT_TRUE(w.write(zeros));
    bytes one(blk);
    one[blk - 1] = std::byte{9};
    ASSERT_TRUE(w.write(one));
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(log.log(), (std::vector<std::string>{"z" + std::to_string(7 * blk), "w4096", "f"}));
}

TEST(sparse_writer, unaligned_start_offset_aligns_blocks_to_the_stream) {
    // The target already holds 1000 bytes: blocks are [0, 4096), [4096, 8192) ... of the stream.
    call_log_sink log;
    ASSERT_TRUE(log.write(bytes(1000, std::byte{7})));
    sparse_writer w(log);
    EXPECT_EQ(w.offset(), 1000u);
    bytes img(3 * blk);  // zeros up to stream offset 1000 + 12288
    ASSERT_TRUE(w.write(img));
    ASSERT_TRUE(w.flush());
    // The partial first block (3096 zero bytes), two whole blocks, and the 1000-byte tail: one zero run.
    EXPECT_EQ(log.log(), (std::vector<std::string>{"w1000", "z12288", "f"}));
    EXPECT_EQ(w.data_bytes(), 0u);
}

TEST(sparse_writer, partial_tail_is_data_or_zero_by_content) {
    call_log_sink log;
    sparse_writer w(log);
    bytes tail(123);
    tail[122] = std::byte{1};
    ASSERT_TRUE(w.write(bytes(blk)));
    ASSERT_TRUE(w.write(tail));
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(log.log(), (std::vector<std::string>{"z4096", "w123", "f"}));
    EXPECT_EQ(w.data_bytes(), 123u);

    call_log_sink log2;
    sparse_writer w2(log2);
    ASSERT_TRUE(w2.write(bytes{std::byte{1}}));
    ASSERT_TRUE(w2.write(bytes(123)));
    ASSERT_TRUE(w2.zero(10));
    ASSERT_TRUE(w2.flush());
    EXPECT_EQ(log2.log(), (std::vector<std::string>{"w124", "z10", "f"}));
}

TEST(sparse_writer, zero_bomb_fails_at_the_capacity_before_flush) {
    recording_sink rec(0, 10 * blk);
    sparse_writer w(rec);
    bytes zeros(blk);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(w.write(zeros));
    auto r = w.write(std::span(zeros).first(1));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large));
    auto z = w.zero(1);
    ASSERT_FALSE(z);
    EXPECT_TRUE(z.error().is(errc::too_large));
    EXPECT_EQ(rec.offset(), 0u);  // nothing reached the target yet
    EXPECT_EQ(w.offset(), 10 * blk);
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(rec.offset(), 10 * blk);
}

TEST(sparse_writer, fault_at_nth_sink_call_propagates) {
    auto [img, data_blocks] = block_mix(5);
    // Count the calls a clean run makes, then fail each one in turn.
    call_log_sink log;
    {
        sparse_writer w(log);
        write_in_chunks(w, img, 10000);
        ASSERT_TRUE(w.flush());
    }
    const std::size_t calls = log.log().size();
    ASSERT_GT(calls, 10u);
    for (std::size_t n = 1; n <= calls; ++n) {
        SCOPED_TRACE("fail at call " + std::to_string(n));
        recording_sink rec(n);
        sparse_writer w(rec);
        result<void> r;
        for (std::size_t off = 0; off < img.size() && r; off += 10000) {
            r = w.write(std::span(img).subspan(off, std::min<std::size_t>(10000, img.size() - off)));
        }
        if (r) r = w.flush();
        ASSERT_FALSE(r);
        EXPECT_TRUE(r.error().is(errc::io));
        EXPECT_EQ(r.error().context, "injected sink fault");
    }
}

TEST(is_zero, finds_a_single_non_zero_byte_anywhere) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                          std::size_t{4096}}) {
        bytes b(n);
        EXPECT_TRUE(is_zero(b)) << n;
        for (std::size_t i = 0; i < n; ++i) {
            b[i] = std::byte{0x80};
            ASSERT_FALSE(is_zero(b)) << n << " at " << i;
            b[i] = std::byte{0};
        }
    }
}

}  // namespace
}  // namespace cdi::test
