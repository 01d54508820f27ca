// gzip_source: every behaviour runs against both backends (ISA-L and zlib), with test data made by
// the real gzip / pigz binaries or by zlib's deflate (for headers gzip never writes).
#include "importer/stages/gzip_source.hpp"
#include "importer/stages/memory_source.hpp"

#include "support/compression_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace {

namespace test = cdi::test;
using cdi::errc;
using cdi::gzip_backend;
using cdi::result;
using test::bytes;
using test::compress_with;
using test::concat;
using test::mixed_data;

class gzip_source : public ::testing::TestWithParam<gzip_backend> {
protected:
    // The backend under test over an upstream (make_stage for the shared checks).
    auto stage() const {
        return [backend = GetParam()](cdi::source_ptr upstream) { return cdi::gzip_source(std::move(upstream), backend); };
    }
    cdi::gzip_source make(bytes data, std::size_t chunk = SIZE_MAX, std::size_t fail_at = 0) {
        return stage()(std::make_unique<test::scripted_source>(std::move(data), chunk, fail_at));
    }
    // Decodes everything; the error when decoding fails.
    result<bytes> decode(bytes data, std::size_t chunk = SIZE_MAX, std::size_t buf_size = 256 * 1024) {
        auto src = make(std::move(data), chunk);
        return test::drain(src, buf_size);
    }
};

TEST_P(gzip_source, round_trip_matches_gzip_dc) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes data = mixed_data(3 << 20);
    for (const char* tool : {"gzip -c -1", "gzip -c -9"}) {
        bytes gz = compress_with(tool, data);
        ASSERT_EQ(compress_with("gzip -dc", gz), data) << tool;  // the reference decoder agrees
        auto out = decode(gz);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << tool;
    }
}

TEST_P(gzip_source, round_trip_pigz_output) {
    CDI_REQUIRE_TOOL("pigz");
    const bytes data = mixed_data(2 << 20, 11);
    auto out = decode(compress_with("pigz -c -p 2 -b 128", data));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
}

TEST_P(gzip_source, upstream_delivering_one_byte_per_read) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes data = mixed_data(64 * 1024, 3);
    auto out = decode(compress_with("gzip -c", data), 1);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
}

TEST_P(gzip_source, caller_buffer_of_one_and_seven_bytes) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes data = mixed_data(200 * 1024, 5);
    test::expect_tiny_caller_buffers_decode(stage(), compress_with("gzip -c", data), data);
}

TEST_P(gzip_source, multi_member_decoded_fully) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes a = mixed_data(300 * 1024, 1), b = test::random_bytes(5000, 2), c = mixed_data(1 << 20, 3);
    const bytes empty;
    const bytes gz = concat({compress_with("gzip -c", a), compress_with("gzip -c", empty),
                             compress_with("gzip -c", b), compress_with("gzip -c -1", c)});
    const bytes expected = concat({a, b, c});
    ASSERT_EQ(compress_with("gzip -dc", gz), expected);
    for (std::size_t chunk : {std::size_t{7}, std::size_t{4096}, SIZE_MAX}) {
        auto out = decode(gz, chunk);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "chunk " << chunk;
    }
}

TEST_P(gzip_source, many_small_members_byte_by_byte) {
    CDI_REQUIRE_TOOL("gzip");
    bytes gz, expected;
    for (std::uint32_t i = 0; i < 40; ++i) {
        bytes part = mixed_data(1 + i * 97, i);
        gz = concat({gz, compress_with("gzip -c", part)});
        expected = concat({expected, part});
    }
    for (std::size_t buf : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
        auto out = decode(gz, 1, buf);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, expected) << "buffer " << buf;
    }
}

// A member with every optional header field (FEXTRA, FNAME, FCOMMENT, FHCRC), which gzip never
// writes; fed one byte per read so each field spans reads.
bytes gzip_with_full_header(const bytes& data) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    static unsigned char extra[] = "AB\x04\x00xyzw";
    static char name[] = "disk.img";
    static char comment[] = "a comment that is long enough";
    gz_header h{};
    h.extra = extra;
    h.extra_len = sizeof(extra) - 1;
    h.name = reinterpret_cast<Bytef*>(name);
    h.comment = reinterpret_cast<Bytef*>(comment);
    h.hcrc = 1;
    EXPECT_EQ(deflateSetHeader(&z, &h), Z_OK);
    bytes out(deflateBound(&z, data.size()) + 256);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

TEST_P(gzip_source, header_with_all_optional_fields) {
    const bytes data = mixed_data(40 * 1024, 9);
    const bytes gz = gzip_with_full_header(data);
    ASSERT_EQ(gz[3], std::byte{0x1e});  // FHCRC | FEXTRA | FNAME | FCOMMENT
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, SIZE_MAX}) {
        auto out = decode(concat({gz, gz}), chunk);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, concat({data, data})) << "chunk " << chunk;
    }
    bytes bad = gz;
    const std::size_t hcrc_at = 10 + 2 + 8 + sizeof("disk.img") + sizeof("a comment that is long enough");
    bad[hcrc_at] ^= std::byte{0x01};
    auto out = decode(bad, 1);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
    EXPECT_NE(out.error().context.find("header crc"), std::string::npos) << out.error().message();
}

TEST_P(gzip_source, rejects_corrupt_data) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes gz_text = compress_with("gzip -c", mixed_data(1 << 20, 4));
    const bytes gz_random = compress_with("gzip -c", test::random_bytes(256 * 1024, 4));  // stored blocks
    for (const bytes* gz : {&gz_text, &gz_random}) {
        for (std::size_t at : {gz->size() / 2, gz->size() / 3, gz->size() - 6, gz->size() - 2}) {
            bytes bad = *gz;
            bad[at] ^= std::byte{0x55};
            auto out = decode(bad);
            ASSERT_FALSE(out) << "flipped byte " << at << " of " << gz->size() << " decoded";
            EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
            EXPECT_NE(out.error().context.find("gzip"), std::string::npos) << out.error().message();
        }
    }
}

TEST_P(gzip_source, rejects_truncated_input) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes gz = compress_with("gzip -c", mixed_data(1 << 20, 6));
    test::expect_truncation_is_an_error(stage(), gz, {gz.size() / 2, gz.size() - 1, gz.size() - 4, gz.size() - 8,
                                                      20, 10, 5, 1});
}

TEST_P(gzip_source, rejects_trailing_garbage) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes gz = compress_with("gzip -c", mixed_data(100 * 1024, 8));
    for (const bytes& tail : {test::to_bytes("garbage"), bytes(512), test::to_bytes("\x1f\x8c")}) {
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX}) {
            auto out = decode(concat({gz, tail}), chunk);
            ASSERT_FALSE(out) << "tail of " << tail.size() << " bytes accepted";
            EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
            EXPECT_EQ(out.error().context, "trailing garbage after gzip member");
        }
    }
    // The start of a next member's header, cut short, is a truncated stream rather than garbage.
    for (const bytes& tail : {test::to_bytes("\x1f"), test::to_bytes("\x1f\x8b\x08")}) {
        auto cut = decode(concat({gz, tail}));
        ASSERT_FALSE(cut);
        EXPECT_TRUE(cut.error().is(errc::truncated)) << cut.error().message();
    }
}

TEST_P(gzip_source, rejects_empty_and_non_gzip_input) {
    // An upstream that ends at once (memory_source: scripted_source memcpy's from a null pointer).
    cdi::gzip_source src(std::make_unique<cdi::memory_source>(std::span<const std::byte>{}), GetParam());
    auto empty = test::drain(src);
    ASSERT_FALSE(empty);
    EXPECT_TRUE(empty.error().is(errc::truncated)) << empty.error().message();
    auto text = decode(test::to_bytes("this is not gzip at all"));
    ASSERT_FALSE(text);
    EXPECT_TRUE(text.error().is(errc::decompress)) << text.error().message();
    bytes bad_method = test::to_bytes("\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03xxxx");
    auto method = decode(bad_method);
    ASSERT_FALSE(method);
    EXPECT_TRUE(method.error().is(errc::decompress)) << method.error().message();
}

TEST_P(gzip_source, passes_upstream_fault_through) {
    CDI_REQUIRE_TOOL("gzip");
    test::expect_upstream_fault_passes_through(stage(), compress_with("gzip -c", mixed_data(64 * 1024, 10)));
}

TEST_P(gzip_source, end_is_sticky_and_size_unknown) {
    CDI_REQUIRE_TOOL("gzip");
    const bytes data = test::random_bytes(1000, 12);
    auto src = make(compress_with("gzip -c", data));
    test::expect_end_is_sticky_and_size_unknown(src, data.size());
}

TEST_P(gzip_source, zero_bomb_decodes_to_exact_size) {
    CDI_REQUIRE_TOOL("gzip");
    auto src = make(test::compress_zeros("gzip -c", "64M"));
    test::expect_decodes_to_zeros(src, 64ull << 20);
}

INSTANTIATE_TEST_SUITE_P(backends, gzip_source, ::testing::Values(gzip_backend::isal, gzip_backend::zlib),
                         [](const auto& p) { return p.param == gzip_backend::isal ? "isal" : "zlib"; });

}  // namespace
