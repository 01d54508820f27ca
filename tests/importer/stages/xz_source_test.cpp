// xz_source, what only xz has: the multi-threaded decoder, stream padding between and after
// concatenated streams, the memory limit, liblzma's error names. Test data made by the real xz binary.
// What all decompressing stages share is in decompressing_source_test.cpp.
#include "importer/stages/xz_source.hpp"

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

TEST(xz_source, names_liblzma_format_error_for_non_xz_input) {
    auto text = decode(test::to_bytes("this is not xz at all"));
    ASSERT_FALSE(text);
    EXPECT_TRUE(text.error().is(errc::decompress)) << text.error().message();
    EXPECT_NE(text.error().context.find("LZMA_FORMAT_ERROR"), std::string::npos) << text.error().message();
}

}  // namespace
