// What every decompressing stage (gzip_source on both backends, xz_source, zstd_source) does the same
// way, as one typed test: round trip against the reference tool, tiny upstream reads and caller
// buffers, concatenated members/streams/frames, corruption, truncation, trailing garbage, input that
// is empty or not the format, upstream faults, the sticky end and a zero bomb. Test data are made by
// the real gzip / xz / zstd binaries. What only one format has (gzip's optional header fields, xz's
// stream padding, threads and memory limit, zstd's skippable frames and window limit) is in
// <format>_source_test.cpp.
#include "importer/stages/gzip_source.hpp"
#include "importer/stages/memory_source.hpp"
#include "importer/stages/xz_source.hpp"
#include "importer/stages/zstd_source.hpp"

#include "support/compression_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <vector>

namespace {

namespace test = cdi::test;
using cdi::errc;
using cdi::result;
using test::bytes;
using test::compress_with;
using test::concat;
using test::mixed_data;

// One format under test. Each traits type gives:
//   tool            the binary the test data needs (skip without it)
//   compress        its plain encoder command; decompress the reference decoder
//   round_trip      encoder commands whose output must decode like the reference decoder's
//   shapes          encoder commands for the small-read checks (xz adds a many-block file)
//   zero_bomb       the encoder command for 64 MiB of zeros
//   error_marker    text every corruption error names
//   corruption_may_read_as_truncation
//                   a flipped byte may surface as errc::truncated (a zstd block size that now points
//                   past the end); otherwise it is always errc::decompress
//   garbage_tails   bytes after a complete stream that are an error; garbage_context the exact
//                   error text for them ("" = not pinned)
//   cut_header_tails
//                   the start of a next member/stream/frame header, cut short: errc::truncated
//   truncation_tool, truncation_keeps(size)
//                   the file and the cuts of it that must be errc::truncated
//   make(upstream)  the stage under test
struct gzip_traits {
    static constexpr const char* tool = "gzip";
    static constexpr const char* compress = "gzip -c";
    static constexpr const char* decompress = "gzip -dc";
    static constexpr std::size_t round_trip_size = 3 << 20;
    static std::vector<const char*> round_trip() { return {"gzip -c -1", "gzip -c -9"}; }
    static std::vector<const char*> shapes() { return {"gzip -c"}; }
    static constexpr const char* zero_bomb = "gzip -c";
    static constexpr const char* error_marker = "gzip";
    static constexpr bool corruption_may_read_as_truncation = false;
    static std::vector<std::size_t> corrupt_offsets(std::size_t n) { return {n / 2, n / 3, n - 6, n - 2}; }
    static std::vector<bytes> garbage_tails() { return {test::to_bytes("garbage"), bytes(512), test::to_bytes("\x1f\x8c")}; }
    static constexpr const char* garbage_context = "trailing garbage after gzip member";
    static std::vector<bytes> cut_header_tails() { return {test::to_bytes("\x1f"), test::to_bytes("\x1f\x8b\x08")}; }
    static constexpr const char* truncation_tool = "gzip -c";
    static std::vector<std::size_t> truncation_keeps(std::size_t n) { return {n / 2, n - 1, n - 4, n - 8, 20, 10, 5, 1}; }
};

template <cdi::gzip_backend Backend>
struct gzip_on : gzip_traits {
    static cdi::gzip_source make(cdi::source_ptr upstream) { return cdi::gzip_source(std::move(upstream), Backend); }
};
using gzip_isal = gzip_on<cdi::gzip_backend::isal>;
using gzip_zlib = gzip_on<cdi::gzip_backend::zlib>;

struct xz {
    static constexpr const char* tool = "xz";
    static constexpr const char* compress = "xz -c";
    static constexpr const char* decompress = "xz -dc";
    static constexpr std::size_t round_trip_size = 3 << 19;
    static std::vector<const char*> round_trip() { return {"xz -c -0", "xz -c -6", "xz -c -1 --check=sha256"}; }
    static std::vector<const char*> shapes() { return {"xz -c", "xz -c -T2 --block-size=16KiB"}; }
    static constexpr const char* zero_bomb = "xz -c -0 -T2";
    static constexpr const char* error_marker = "LZMA_";
    static constexpr bool corruption_may_read_as_truncation = false;
    static std::vector<std::size_t> corrupt_offsets(std::size_t n) { return {n / 2, n / 3, n - 6, 8}; }
    // Zero bytes after a stream are padding only in multiples of four.
    static std::vector<bytes> garbage_tails() {
        return {test::to_bytes("garbage!"), bytes(3), bytes(511), test::to_bytes("\x01")};
    }
    static constexpr const char* garbage_context = "";
    static std::vector<bytes> cut_header_tails() { return {concat({bytes(4), test::to_bytes("\xfd" "7z")})}; }
    static constexpr const char* truncation_tool = "xz -c -T2 --block-size=128KiB";
    static std::vector<std::size_t> truncation_keeps(std::size_t n) { return {n / 2, n - 1, n - 12, 40, 12, 5}; }
    static cdi::xz_source make(cdi::source_ptr upstream) { return cdi::xz_source(std::move(upstream)); }
};

struct zstd {
    static constexpr const char* tool = "zstd";
    static constexpr const char* compress = "zstd -q -c";
    static constexpr const char* decompress = "zstd -q -dc";
    static constexpr std::size_t round_trip_size = 3 << 20;
    static std::vector<const char*> round_trip() {
        return {"zstd -q -c -1", "zstd -q -c -19", "zstd -q -c -3 --no-check -T2"};
    }
    static std::vector<const char*> shapes() { return {"zstd -q -c"}; }
    static constexpr const char* zero_bomb = "zstd -q -c";
    static constexpr const char* error_marker = "zstd";
    static constexpr bool corruption_may_read_as_truncation = true;
    static std::vector<std::size_t> corrupt_offsets(std::size_t n) { return {n / 2, n / 3, n - 2, 5}; }
    static std::vector<bytes> garbage_tails() {
        return {test::to_bytes("garbage!"), bytes(3), bytes(512), test::to_bytes("\x28\xb6")};
    }
    static constexpr const char* garbage_context = "trailing garbage after zstd frame";
    static std::vector<bytes> cut_header_tails() { return {test::to_bytes("\x28\xb5\x2f"), test::to_bytes("\x5a\x2a")}; }
    static constexpr const char* truncation_tool = "zstd -q -c";
    static std::vector<std::size_t> truncation_keeps(std::size_t n) { return {n / 2, n - 1, n - 4, 12, 6, 4, 2}; }
    static cdi::zstd_source make(cdi::source_ptr upstream) { return cdi::zstd_source(std::move(upstream)); }
};

template <class Format>
class decompressing_source : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool(Format::tool)) GTEST_SKIP() << "needs " << Format::tool << " on PATH";
    }
    // make_stage for the shared checks of compression_fixtures.hpp.
    static auto stage() {
        return [](cdi::source_ptr upstream) { return Format::make(std::move(upstream)); };
    }
    static auto make(bytes data, std::size_t chunk = SIZE_MAX) {
        return Format::make(std::make_unique<test::scripted_source>(std::move(data), chunk));
    }
    // Decodes everything; the error when decoding fails.
    static result<bytes> decode(bytes data, std::size_t chunk = SIZE_MAX, std::size_t buf_size = 256 * 1024) {
        auto src = make(std::move(data), chunk);
        return test::drain(src, buf_size);
    }
    static bytes compress(const bytes& data) { return compress_with(Format::compress, data); }
};

struct format_names {
    template <class T>
    static std::string GetName(int) {
        if constexpr (std::is_same_v<T, gzip_isal>) return "gzip_isal";
        if constexpr (std::is_same_v<T, gzip_zlib>) return "gzip_zlib";
        if constexpr (std::is_same_v<T, xz>) return "xz";
        if constexpr (std::is_same_v<T, zstd>) return "zstd";
    }
};
using formats = ::testing::Types<gzip_isal, gzip_zlib, xz, zstd>;
TYPED_TEST_SUITE(decompressing_source, formats, format_names);

TYPED_TEST(decompressing_source, round_trip_matches_the_reference_decoder) {
    const bytes data = mixed_data(TypeParam::round_trip_size);
    for (const char* tool : TypeParam::round_trip()) {
        const bytes packed = compress_with(tool, data);
        ASSERT_EQ(compress_with(TypeParam::decompress, packed), data) << tool;  // the reference decoder agrees
        auto out = this->decode(packed);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TYPED_TEST(decompressing_source, upstream_delivering_one_byte_per_read) {
    const bytes data = mixed_data(64 * 1024, 3);
    for (const char* tool : TypeParam::shapes()) {
        auto out = this->decode(compress_with(tool, data), 1);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TYPED_TEST(decompressing_source, caller_buffer_of_one_and_seven_bytes) {
    const bytes data = mixed_data(200 * 1024, 5);
    for (const char* tool : TypeParam::shapes()) {
        SCOPED_TRACE(tool);
        test::expect_tiny_caller_buffers_decode(this->stage(), compress_with(tool, data), data);
    }
}

TYPED_TEST(decompressing_source, concatenated_members_decoded_fully_including_an_empty_one) {
    const bytes a = mixed_data(300 * 1024, 1), b = test::random_bytes(5000, 2), c = mixed_data(1 << 20, 3);
    const bytes empty;
    const bytes packed = concat({this->compress(a), this->compress(empty), this->compress(b), this->compress(c)});
    const bytes expected = concat({a, b, c});
    ASSERT_EQ(compress_with(TypeParam::decompress, packed), expected);
    for (std::size_t chunk : {std::size_t{7}, std::size_t{4096}, SIZE_MAX}) {
        auto out = this->decode(packed, chunk);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "chunk " << chunk;
    }
}

TYPED_TEST(decompressing_source, many_small_members_byte_by_byte) {
    bytes packed, expected;
    for (std::uint32_t i = 0; i < 40; ++i) {
        bytes part = mixed_data(1 + i * 97, i);
        packed = concat({packed, this->compress(part)});
        expected = concat({expected, part});
    }
    for (std::size_t buf : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
        auto out = this->decode(packed, 1, buf);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "buffer " << buf;
    }
}

TYPED_TEST(decompressing_source, rejects_corrupt_data_naming_the_format) {
    const bytes text = this->compress(mixed_data(1 << 20, 4));
    const bytes random = this->compress(test::random_bytes(256 * 1024, 4));  // stored/raw blocks
    for (const bytes* packed : {&text, &random}) {
        for (std::size_t at : TypeParam::corrupt_offsets(packed->size())) {
            bytes bad = *packed;
            bad[at] ^= std::byte{0x55};
            auto out = this->decode(bad);
            ASSERT_FALSE(out) << "flipped byte " << at << " of " << packed->size() << " decoded";
            EXPECT_TRUE(out.error().is(errc::decompress) ||
                        (TypeParam::corruption_may_read_as_truncation && out.error().is(errc::truncated)))
                << at << ": " << out.error().message();
            EXPECT_NE(out.error().context.find(TypeParam::error_marker), std::string::npos) << out.error().message();
        }
        // In the middle of the data a flip is always a decoding error.
        bytes bad = *packed;
        bad[bad.size() / 2] ^= std::byte{0x55};
        auto out = this->decode(bad);
        ASSERT_FALSE(out);
        EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
    }
}

TYPED_TEST(decompressing_source, rejects_truncated_input) {
    const bytes packed = compress_with(TypeParam::truncation_tool, mixed_data(1 << 20, 6));
    const auto keeps = TypeParam::truncation_keeps(packed.size());
    for (std::size_t keep : keeps) {
        SCOPED_TRACE("cut to " + std::to_string(keep));
        test::expect_truncation_is_an_error(this->stage(), packed, {keep});
    }
}

TYPED_TEST(decompressing_source, rejects_trailing_garbage) {
    const bytes packed = this->compress(mixed_data(100 * 1024, 8));
    for (const bytes& tail : TypeParam::garbage_tails()) {
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX}) {
            auto out = this->decode(concat({packed, tail}), chunk);
            ASSERT_FALSE(out) << "tail of " << tail.size() << " bytes accepted";
            EXPECT_TRUE(out.error().is(errc::decompress)) << tail.size() << ": " << out.error().message();
            if (*TypeParam::garbage_context) {
                EXPECT_EQ(out.error().context, TypeParam::garbage_context);
            }
        }
    }
}

TYPED_TEST(decompressing_source, a_next_header_cut_short_is_truncation_not_garbage) {
    const bytes packed = this->compress(mixed_data(100 * 1024, 8));
    for (const bytes& tail : TypeParam::cut_header_tails()) {
        auto cut = this->decode(concat({packed, tail}));
        ASSERT_FALSE(cut) << "tail of " << tail.size() << " bytes accepted";
        EXPECT_TRUE(cut.error().is(errc::truncated)) << cut.error().message();
    }
}

TYPED_TEST(decompressing_source, rejects_empty_and_foreign_input) {
    // An upstream that ends at once (memory_source: scripted_source memcpy's from a null pointer).
    auto src = TypeParam::make(std::make_unique<cdi::memory_source>(std::span<const std::byte>{}));
    auto empty = test::drain(src);
    ASSERT_FALSE(empty);
    EXPECT_TRUE(empty.error().is(errc::truncated)) << empty.error().message();
    auto text = this->decode(test::to_bytes(std::string("this is not ") + TypeParam::tool + " at all"));
    ASSERT_FALSE(text);
    EXPECT_TRUE(text.error().is(errc::decompress)) << text.error().message();
}

TYPED_TEST(decompressing_source, passes_upstream_fault_through) {
    test::expect_upstream_fault_passes_through(this->stage(), this->compress(mixed_data(64 * 1024, 10)));
}

TYPED_TEST(decompressing_source, end_is_sticky_and_size_unknown) {
    const bytes data = test::random_bytes(1000, 12);
    auto src = this->make(this->compress(data));
    test::expect_end_is_sticky_and_size_unknown(src, data.size());
}

TYPED_TEST(decompressing_source, zero_bomb_decodes_to_exact_size) {
    auto src = this->make(test::compress_zeros(TypeParam::zero_bomb, "64M"));
    test::expect_decodes_to_zeros(src, 64ull << 20);
}

}  // namespace
