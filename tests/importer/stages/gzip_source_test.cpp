// gzip_source, what only gzip has: pigz's output, the optional header fields gzip never writes (made
// by zlib's deflate), the compression method byte. Every case runs against both backends (ISA-L and
// zlib). What all decompressing stages share is in decompressing_source_test.cpp.
#include "importer/stages/gzip_source.hpp"

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
    // Decodes everything with the backend under test; the error when decoding fails.
    result<bytes> decode(bytes data, std::size_t chunk = SIZE_MAX, std::size_t buf_size = 256 * 1024) {
        cdi::gzip_source src(std::make_unique<test::scripted_source>(std::move(data), chunk), GetParam());
        return test::drain(src, buf_size);
    }
};

TEST_P(gzip_source, round_trip_pigz_output) {
    CDI_REQUIRE_TOOL("pigz");
    const bytes data = mixed_data(2 << 20, 11);
    auto out = decode(compress_with("pigz -c -p 2 -b 128", data));
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
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

TEST_P(gzip_source, rejects_a_compression_method_other_than_deflate) {
    auto method = decode(test::to_bytes("\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03xxxx"));
    ASSERT_FALSE(method);
    EXPECT_TRUE(method.error().is(errc::decompress)) << method.error().message();
}

INSTANTIATE_TEST_SUITE_P(backends, gzip_source, ::testing::Values(gzip_backend::isal, gzip_backend::zlib),
                         [](const auto& p) { return p.param == gzip_backend::isal ? "isal" : "zlib"; });

}  // namespace
