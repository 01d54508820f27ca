// xz_source: test data made by the real xz binary (single- and multi-block, concatenated streams).
#include "importer/stages/xz_source.hpp"
#include "importer/stages/memory_source.hpp"

#include "support/compression_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

namespace test = cdi::test;
using cdi::errc;
using cdi::result;
using test::bytes;
using test::compress_with;
using test::concat;
using test::mixed_data;

// The stage under test over an upstream, with the default options (make_stage for the shared checks).
cdi::xz_source stage(cdi::source_ptr upstream) { return cdi::xz_source(std::move(upstream)); }

cdi::xz_source make(bytes data, std::size_t chunk = SIZE_MAX, std::size_t fail_at = 0, cdi::xz_options opts = {}) {
    return cdi::xz_source(std::make_unique<test::scripted_source>(std::move(data), chunk, fail_at), opts);
}

result<bytes> decode(bytes data, std::size_t chunk = SIZE_MAX, std::size_t buf_size = 256 * 1024,
                     cdi::xz_options opts = {}) {
    auto src = make(std::move(data), chunk, 0, opts);
    return test::drain(src, buf_size);
}

std::size_t thread_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : test::fs::directory_iterator("/proc/self/task")) ++n;
    return n;
}

TEST(xz_source, round_trip_matches_xz_dc) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = mixed_data(3 << 19);
    for (const char* tool : {"xz -c -0", "xz -c -6", "xz -c -1 --check=sha256"}) {
        bytes xz = compress_with(tool, data);
        ASSERT_EQ(compress_with("xz -dc", xz), data) << tool;
        auto out = decode(xz);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TEST(xz_source, multi_block_file_decodes_on_two_threads) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = mixed_data(4 << 20, 21);
    const bytes xz = compress_with("xz -c -1 -T2 --block-size=256KiB", data);
    test::temp_dir dir;
    test::write_file(dir / "f.xz", xz.data(), xz.size());
    const auto listing = test::must_run("xz --robot -l '" + (dir / "f.xz").string() + "'");
    ASSERT_NE(listing.find("\nfile\t1\t16\t"), std::string::npos) << listing;  // 1 stream, 16 blocks

    const std::size_t before = thread_count();
    auto src = make(xz, SIZE_MAX, 0, cdi::xz_options{.threads = 2});
    bytes out, buf(64 * 1024);
    std::size_t during = 0;
    for (;;) {
        auto n = src.read(buf);
        ASSERT_TRUE(n) << n.error().message();
        if (*n == 0) break;
        during = std::max(during, thread_count());
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    EXPECT_EQ(out, data);
    EXPECT_GE(during, before + 2) << "the MT decoder did not start two worker threads";
}

TEST(xz_source, upstream_delivering_one_byte_per_read) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = mixed_data(64 * 1024, 3);
    for (const char* tool : {"xz -c", "xz -c -T2 --block-size=16KiB"}) {
        auto out = decode(compress_with(tool, data), 1);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TEST(xz_source, caller_buffer_of_one_and_seven_bytes) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = mixed_data(200 * 1024, 5);
    test::expect_tiny_caller_buffers_decode(stage, compress_with("xz -c -T2 --block-size=64KiB", data), data);
}

TEST(xz_source, concatenated_streams_and_padding_decoded_fully) {
    CDI_REQUIRE_TOOL("xz");
    const bytes a = mixed_data(300 * 1024, 1), b = test::random_bytes(5000, 2), empty;
    const bytes xz = concat({compress_with("xz -c", a), bytes(8), compress_with("xz -c", empty),
                             compress_with("xz -c -T2 --block-size=64KiB", b), bytes(4)});
    const bytes expected = concat({a, b});
    ASSERT_EQ(compress_with("xz -dc", xz), expected);
    for (std::size_t chunk : {std::size_t{7}, SIZE_MAX}) {
        auto out = decode(xz, chunk);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "chunk " << chunk;
    }
}

TEST(xz_source, rejects_corrupt_data) {
    CDI_REQUIRE_TOOL("xz");
    const bytes xz_text = compress_with("xz -c", mixed_data(1 << 20, 4));
    const bytes xz_random = compress_with("xz -c", test::random_bytes(256 * 1024, 4));  // uncompressed chunks
    for (const bytes* xz : {&xz_text, &xz_random}) {
        for (std::size_t at : {xz->size() / 2, xz->size() / 3, xz->size() - 6, std::size_t{8}}) {
            bytes bad = *xz;
            bad[at] ^= std::byte{0x55};
            auto out = decode(bad);
            ASSERT_FALSE(out) << "flipped byte " << at << " of " << xz->size() << " decoded";
            EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
            EXPECT_NE(out.error().context.find("LZMA_"), std::string::npos) << out.error().message();
        }
    }
}

TEST(xz_source, rejects_truncated_input) {
    CDI_REQUIRE_TOOL("xz");
    const bytes xz = compress_with("xz -c -T2 --block-size=128KiB", mixed_data(1 << 20, 6));
    for (std::size_t keep : {xz.size() / 2, xz.size() - 1, xz.size() - 12, std::size_t{40}, std::size_t{12},
                             std::size_t{5}}) {
        bytes cut(xz.begin(), xz.begin() + static_cast<std::ptrdiff_t>(keep));
        auto out = decode(cut);
        ASSERT_FALSE(out) << "cut to " << keep << " decoded";
        EXPECT_TRUE(out.error().is(errc::truncated)) << keep << ": " << out.error().message();
    }
}

TEST(xz_source, rejects_trailing_garbage) {
    CDI_REQUIRE_TOOL("xz");
    const bytes xz = compress_with("xz -c", mixed_data(100 * 1024, 8));
    for (const bytes& tail : {test::to_bytes("garbage!"), bytes(3), bytes(511), test::to_bytes("\x01")}) {
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX}) {
            auto out = decode(concat({xz, tail}), chunk);
            ASSERT_FALSE(out) << "tail of " << tail.size() << " bytes accepted";
            EXPECT_TRUE(out.error().is(errc::decompress)) << tail.size() << ": " << out.error().message();
        }
    }
    // The start of a next stream's header, cut short, is a truncated stream rather than garbage.
    auto cut = decode(concat({xz, bytes(4), test::to_bytes("\xfd" "7z")}));
    ASSERT_FALSE(cut);
    EXPECT_TRUE(cut.error().is(errc::truncated)) << cut.error().message();
}

TEST(xz_source, rejects_empty_and_non_xz_input) {
    // An upstream that ends at once (memory_source: scripted_source memcpy's from a null pointer).
    cdi::xz_source src(std::make_unique<cdi::memory_source>(std::span<const std::byte>{}));
    auto empty = test::drain(src);
    ASSERT_FALSE(empty);
    EXPECT_TRUE(empty.error().is(errc::truncated)) << empty.error().message();
    auto text = decode(test::to_bytes("this is not xz at all"));
    ASSERT_FALSE(text);
    EXPECT_TRUE(text.error().is(errc::decompress)) << text.error().message();
    EXPECT_NE(text.error().context.find("LZMA_FORMAT_ERROR"), std::string::npos) << text.error().message();
}

TEST(xz_source, rejects_file_over_memory_limit) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = mixed_data(256 * 1024, 13);
    for (const char* tool : {"xz -c --lzma2=preset=1,dict=32MiB", "xz -c -T2 --block-size=64KiB --lzma2=preset=1,dict=32MiB"}) {
        const bytes xz = compress_with(tool, data);
        auto out = decode(xz, SIZE_MAX, 256 * 1024, cdi::xz_options{.threads = 2, .memlimit = 4 << 20});
        ASSERT_FALSE(out) << tool;
        EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
        EXPECT_NE(out.error().context.find("memory limit of 4 MiB"), std::string::npos) << out.error().message();
        // The same file decodes under the default limit.
        auto ok = decode(xz);
        ASSERT_TRUE(ok) << ok.error().message();
        EXPECT_EQ(*ok, data);
    }
}

TEST(xz_source, passes_upstream_fault_through) {
    CDI_REQUIRE_TOOL("xz");
    test::expect_upstream_fault_passes_through(stage, compress_with("xz -c", mixed_data(64 * 1024, 10)));
}

TEST(xz_source, end_is_sticky_and_size_unknown) {
    CDI_REQUIRE_TOOL("xz");
    const bytes data = test::random_bytes(1000, 12);
    auto src = make(compress_with("xz -c", data));
    test::expect_end_is_sticky_and_size_unknown(src, data.size());
}

TEST(xz_source, zero_bomb_decodes_to_exact_size) {
    CDI_REQUIRE_TOOL("xz");
    auto src = make(test::compress_zeros("xz -c -0 -T2", "64M"));
    test::expect_decodes_to_zeros(src, 64ull << 20);
}

}  // namespace
