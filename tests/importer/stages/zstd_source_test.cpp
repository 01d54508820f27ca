// zstd_source: test data made by the real zstd binary (concatenated frames) plus hand-made
// skippable frames.
#include "importer/stages/zstd_source.hpp"
#include "importer/stages/memory_source.hpp"

#include "support/compression_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace {

namespace test = cdi::test;
using cdi::errc;
using cdi::result;
using test::bytes;
using test::compress_with;
using test::concat;
using test::mixed_data;

// The stage under test over an upstream (make_stage for the shared checks).
cdi::zstd_source stage(cdi::source_ptr upstream) { return cdi::zstd_source(std::move(upstream)); }

cdi::zstd_source make(bytes data, std::size_t chunk = SIZE_MAX, std::size_t fail_at = 0) {
    return stage(std::make_unique<test::scripted_source>(std::move(data), chunk, fail_at));
}

result<bytes> decode(bytes data, std::size_t chunk = SIZE_MAX, std::size_t buf_size = 256 * 1024) {
    auto src = make(std::move(data), chunk);
    return test::drain(src, buf_size);
}

// A skippable frame (magic 0x184D2A5?, little-endian size, payload) as written by e.g. seekable zstd.
bytes skippable_frame(std::size_t payload, std::uint8_t variant = 0) {
    bytes f(8 + payload, std::byte{0xab});
    const std::uint8_t head[8] = {static_cast<std::uint8_t>(0x50 + variant), 0x2a, 0x4d, 0x18,
                                  static_cast<std::uint8_t>(payload), static_cast<std::uint8_t>(payload >> 8), 0, 0};
    std::memcpy(f.data(), head, sizeof(head));
    return f;
}

TEST(zstd_source, round_trip_matches_zstd_dc) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes data = mixed_data(3 << 20);
    for (const char* tool : {"zstd -q -c -1", "zstd -q -c -19", "zstd -q -c -3 --no-check -T2"}) {
        bytes zst = compress_with(tool, data);
        ASSERT_EQ(compress_with("zstd -q -dc", zst), data) << tool;
        auto out = decode(zst);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TEST(zstd_source, upstream_delivering_one_byte_per_read) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes data = mixed_data(64 * 1024, 3);
    auto out = decode(concat({compress_with("zstd -q -c", data), skippable_frame(10)}), 1);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
}

TEST(zstd_source, caller_buffer_of_one_and_seven_bytes) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes data = mixed_data(200 * 1024, 5);
    test::expect_tiny_caller_buffers_decode(stage, compress_with("zstd -q -c", data), data);
}

TEST(zstd_source, concatenated_and_skippable_frames_decoded_fully) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes a = mixed_data(300 * 1024, 1), b = test::random_bytes(5000, 2), empty;
    const bytes zst = concat({skippable_frame(100), compress_with("zstd -q -c", a), compress_with("zstd -q -c", empty),
                              skippable_frame(0, 15), compress_with("zstd -q -c -9", b), skippable_frame(3000, 3)});
    const bytes expected = concat({a, b});
    ASSERT_EQ(compress_with("zstd -q -dc", zst), expected);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, SIZE_MAX}) {
        auto out = decode(zst, chunk, chunk == 1 ? 4096 : 256 * 1024);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "chunk " << chunk;
    }
}

TEST(zstd_source, rejects_corrupt_data) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes zst_text = compress_with("zstd -q -c", mixed_data(1 << 20, 4));
    const bytes zst_random = compress_with("zstd -q -c", test::random_bytes(256 * 1024, 4));  // raw blocks
    for (const bytes* zst : {&zst_text, &zst_random}) {
        for (std::size_t at : {zst->size() / 2, zst->size() / 3, zst->size() - 2, std::size_t{5}}) {
            bytes bad = *zst;
            bad[at] ^= std::byte{0x55};
            auto out = decode(bad);
            ASSERT_FALSE(out) << "flipped byte " << at << " of " << zst->size() << " decoded";
            EXPECT_TRUE(out.error().is(errc::decompress) || out.error().is(errc::truncated)) << out.error().message();
            EXPECT_NE(out.error().context.find("zstd"), std::string::npos) << out.error().message();
        }
        bytes bad = *zst;
        bad[bad.size() / 2] ^= std::byte{0x55};
        auto out = decode(bad);
        ASSERT_FALSE(out);
        EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
    }
}

TEST(zstd_source, rejects_truncated_input) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes zst = compress_with("zstd -q -c", mixed_data(1 << 20, 6));
    test::expect_truncation_is_an_error(stage, zst, {zst.size() / 2, zst.size() - 1, zst.size() - 4, 12, 6, 4, 2});
}

TEST(zstd_source, rejects_trailing_garbage) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes zst = compress_with("zstd -q -c", mixed_data(100 * 1024, 8));
    for (const bytes& tail : {test::to_bytes("garbage!"), bytes(3), bytes(512), test::to_bytes("\x28\xb6")}) {
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX}) {
            auto out = decode(concat({zst, tail}), chunk);
            ASSERT_FALSE(out) << "tail of " << tail.size() << " bytes accepted";
            EXPECT_TRUE(out.error().is(errc::decompress)) << tail.size() << ": " << out.error().message();
            EXPECT_EQ(out.error().context, "trailing garbage after zstd frame");
        }
    }
    // The start of a next frame's magic number, cut short, is a truncated stream rather than garbage.
    for (const bytes& tail : {test::to_bytes("\x28\xb5\x2f"), test::to_bytes("\x5a\x2a")}) {
        auto cut = decode(concat({zst, tail}));
        ASSERT_FALSE(cut);
        EXPECT_TRUE(cut.error().is(errc::truncated)) << cut.error().message();
    }
}

TEST(zstd_source, rejects_empty_and_non_zstd_input) {
    // An upstream that ends at once (memory_source: scripted_source memcpy's from a null pointer).
    cdi::zstd_source src(std::make_unique<cdi::memory_source>(std::span<const std::byte>{}));
    auto empty = test::drain(src);
    ASSERT_FALSE(empty);
    EXPECT_TRUE(empty.error().is(errc::truncated)) << empty.error().message();
    auto text = decode(test::to_bytes("this is not zstd at all"));
    ASSERT_FALSE(text);
    EXPECT_TRUE(text.error().is(errc::decompress)) << text.error().message();
}

TEST(zstd_source, rejects_window_over_default_limit) {
    CDI_REQUIRE_TOOL("zstd");
    // --long=30 with an unknown input size (stdin) writes a 1 GiB window into the frame header.
    const bytes zst = compress_with("cat | zstd -q -c --long=30", mixed_data(64 * 1024, 14));
    auto out = decode(zst);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
    EXPECT_NE(out.error().context.find("zstd: "), std::string::npos) << out.error().message();
}

TEST(zstd_source, passes_upstream_fault_through) {
    CDI_REQUIRE_TOOL("zstd");
    test::expect_upstream_fault_passes_through(stage, compress_with("zstd -q -c", mixed_data(64 * 1024, 10)));
}

TEST(zstd_source, end_is_sticky_and_size_unknown) {
    CDI_REQUIRE_TOOL("zstd");
    const bytes data = test::random_bytes(1000, 12);
    auto src = make(compress_with("zstd -q -c", data));
    test::expect_end_is_sticky_and_size_unknown(src, data.size());
}

TEST(zstd_source, zero_bomb_decodes_to_exact_size) {
    CDI_REQUIRE_TOOL("zstd");
    auto src = make(test::compress_zeros("zstd -q -c", "64M"));
    test::expect_decodes_to_zeros(src, 64ull << 20);
}

}  // namespace
