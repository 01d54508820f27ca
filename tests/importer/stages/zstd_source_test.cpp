// zstd_source, what only zstd has: skippable frames (hand-made) among concatenated frames, the
// window-size limit. Test data made by the real zstd binary. What all decompressing stages share is
// in decompressing_source_test.cpp.
#include "importer/stages/zstd_source.hpp"

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

cdi::zstd_source make(bytes data, std::size_t chunk = SIZE_MAX) {
    return cdi::zstd_source(std::make_unique<test::scripted_source>(std::move(data), chunk));
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

TEST(zstd_source, rejects_window_over_default_limit) {
    CDI_REQUIRE_TOOL("zstd");
    // --long=30 with an unknown input size (stdin) writes a 1 GiB window into the frame header.
    const bytes zst = compress_with("cat | zstd -q -c --long=30", mixed_data(64 * 1024, 14));
    auto out = decode(zst);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
    EXPECT_NE(out.error().context.find("zstd: "), std::string::npos) << out.error().message();
}

}  // namespace
