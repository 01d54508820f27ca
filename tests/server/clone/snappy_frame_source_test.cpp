// snappy_frame_source against streams framed by an independent encoder (tests/support/snappy_frame.py:
// python3-snappy's block compressor + python3-crc32c) and hand-made hostile chunks.
#include "server/clone/snappy_frame_source.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <snappy.h>

#include <string>

namespace cdi {
namespace {

using test::bytes;
using test::scripted_source;

// Frames data with the python encoder; opts are its command-line options.
bytes frame(const bytes& data, const std::string& opts = "") {
    test::temp_dir dir;
    test::write_file(dir / "in", data.data(), data.size());
    test::must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_frame.py " + opts + " < '" +
                   (dir / "in").string() + "' > '" + (dir / "out").string() + "'");
    return test::read_file_bytes(dir / "out");
}

bytes compressible(std::size_t n) {
    bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>((i / 512) % 7 == 0 ? 0 : (i * 31 / 4096) & 0xff);
    return b;
}

result<bytes> decode(bytes framed, std::size_t upstream_chunk = SIZE_MAX, std::size_t buf = 64 * 1024) {
    snappy_frame_source src(std::make_unique<scripted_source>(std::move(framed), upstream_chunk));
    return test::drain(src, buf);
}

void append(bytes& b, std::initializer_list<int> v) {
    for (int x : v) b.push_back(static_cast<std::byte>(x));
}

// A chunk of the given type whose body is a checksum of data followed by payload.
bytes chunk(int type, const bytes& data, const bytes& payload) {
    bytes c;
    const std::size_t len = payload.size() + 4;
    append(c, {type, static_cast<int>(len & 0xff), static_cast<int>((len >> 8) & 0xff), static_cast<int>(len >> 16)});
    const std::uint32_t crc = snappy_masked_crc(data);
    append(c, {static_cast<int>(crc & 0xff), static_cast<int>((crc >> 8) & 0xff), static_cast<int>((crc >> 16) & 0xff),
               static_cast<int>(crc >> 24)});
    c.insert(c.end(), payload.begin(), payload.end());
    return c;
}

bytes identifier() {
    bytes b;
    append(b, {0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'});
    return b;
}

bytes cat(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(snappy_frame_source, round_trips_multi_mib_random_and_compressible_data) {
    bytes data = test::random_bytes(3 << 20, 7);
    const bytes more = compressible(2 << 20);
    data.insert(data.end(), more.begin(), more.end());
    const bytes framed = frame(data);
    EXPECT_LT(framed.size(), data.size());  // the compressible half did compress
    auto out = decode(framed);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
}

TEST(snappy_frame_source, one_byte_upstream_reads_and_tiny_caller_buffers_give_the_same_bytes) {
    bytes data = test::random_bytes(200 * 1024, 3);
    const bytes more = compressible(300 * 1024);
    data.insert(data.end(), more.begin(), more.end());
    const bytes framed = frame(data, "--mixed");
    for (std::size_t buf : {std::size_t{1}, std::size_t{7}, std::size_t{65535}, std::size_t{1} << 20}) {
        auto out = decode(framed, 1, buf);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << "caller buffer " << buf;
    }
}

TEST(snappy_frame_source, uncompressed_padding_skippable_and_repeated_identifier_chunks_are_handled) {
    const bytes data = compressible(500 * 1024);
    for (const char* opts : {"--uncompressed", "--padding --skippable", "--repeat-identifier --block 1000",
                             "--mixed --padding --block 4096"}) {
        auto out = decode(frame(data, opts), 333);
        ASSERT_TRUE(out) << opts << ": " << out.error().message();
        EXPECT_EQ(*out, data) << opts;
    }
}

TEST(snappy_frame_source, an_empty_stream_and_an_identifier_alone_are_clean_ends) {
    auto empty = decode({});
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
    auto ident = decode(frame({}));
    ASSERT_TRUE(ident) << ident.error().message();
    EXPECT_TRUE(ident->empty());
}

TEST(snappy_frame_source, a_corrupt_checksum_is_a_decompress_error_naming_the_chunk_offset) {
    const bytes data = compressible(300 * 1024);
    for (const char* opts : {"--corrupt-crc 2", "--uncompressed --corrupt-crc 0"}) {
        auto out = decode(frame(data, opts));
        ASSERT_FALSE(out) << opts;
        EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
        EXPECT_NE(out.error().context.find("checksum mismatch"), std::string::npos) << out.error().context;
        EXPECT_NE(out.error().context.find("offset "), std::string::npos) << out.error().context;
    }
}

TEST(snappy_frame_source, corrupt_compressed_data_is_a_decompress_error) {
    bytes framed = frame(test::random_bytes(100 * 1024, 5));
    framed[10 + 4 + 4 + 100] ^= std::byte{0x55};  // inside the first chunk's literal data
    auto out = decode(framed);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
}

TEST(snappy_frame_source, a_stream_cut_inside_a_chunk_is_truncated) {
    const bytes framed = frame(test::random_bytes(150 * 1024, 9));
    for (std::size_t cut : {framed.size() - 1, std::size_t{10 + 2}, std::size_t{10 + 4 + 3}, std::size_t{5}}) {
        auto out = decode(bytes(framed.begin(), framed.begin() + static_cast<std::ptrdiff_t>(cut)), 4096);
        ASSERT_FALSE(out) << "cut at " << cut;
        EXPECT_TRUE(out.error().is(errc::truncated)) << out.error().message();
    }
}

TEST(snappy_frame_source, a_reserved_unskippable_chunk_is_a_decompress_error) {
    bytes framed = frame(test::random_bytes(1000, 2));
    append(framed, {0x02, 0x01, 0x00, 0x00, 0x00});
    auto out = decode(framed);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress));
    EXPECT_NE(out.error().context.find("reserved unskippable chunk type 0x02"), std::string::npos) << out.error().context;
}

TEST(snappy_frame_source, data_before_the_stream_identifier_is_a_decompress_error) {
    for (const char* opts : {"--no-identifier", "--no-identifier --padding"}) {
        auto out = decode(frame(test::random_bytes(1000, 2), opts));
        ASSERT_FALSE(out) << opts;
        EXPECT_TRUE(out.error().is(errc::decompress)) << out.error().message();
        EXPECT_NE(out.error().context.find("before the stream identifier"), std::string::npos);
    }
    bytes bad_id = identifier();
    bad_id[9] = std::byte{'y'};
    auto out = decode(bad_id);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::decompress));
}

TEST(snappy_frame_source, chunks_over_64_kib_of_data_are_refused) {
    const bytes big = compressible(snappy_frame_source::max_block_size + 1);
    auto raw = decode(cat(identifier(), chunk(0x01, big, big)));
    ASSERT_FALSE(raw);
    EXPECT_TRUE(raw.error().is(errc::decompress)) << raw.error().message();

    std::string packed;
    snappy::Compress(reinterpret_cast<const char*>(big.data()), big.size(), &packed);
    auto comp = decode(cat(identifier(), chunk(0x00, big, test::to_bytes(packed))));
    ASSERT_FALSE(comp);
    EXPECT_TRUE(comp.error().is(errc::decompress));
    EXPECT_NE(comp.error().context.find("expands to 65537 bytes"), std::string::npos) << comp.error().context;

    const bytes max = compressible(snappy_frame_source::max_block_size);
    std::string max_packed;
    snappy::Compress(reinterpret_cast<const char*>(max.data()), max.size(), &max_packed);
    auto ok = decode(cat(cat(identifier(), chunk(0x00, max, test::to_bytes(max_packed))), chunk(0x01, max, max)), SIZE_MAX, 100);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->size(), 2 * max.size());
}

TEST(snappy_frame_source, a_large_skippable_chunk_is_skipped_in_pieces) {
    const bytes skipped(1 << 20, std::byte{0x42});
    bytes framed = identifier();
    append(framed, {0x80, 0x00, 0x00, 0x10});  // 1 MiB
    framed.insert(framed.end(), skipped.begin(), skipped.end());
    const bytes data = test::to_bytes("after the skippable chunk");
    framed = cat(framed, chunk(0x01, data, data));
    auto out = decode(framed, 5000);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
}

TEST(snappy_frame_source, a_flipped_byte_is_an_error_or_a_chunk_turned_skippable) {
    const bytes data = compressible(100 * 1024);
    const bytes framed = frame(data, "--mixed --block 8192");
    std::mt19937 gen(11);
    for (int i = 0; i < 300; ++i) {
        bytes bad = framed;
        const std::size_t at = 10 + gen() % (bad.size() - 10);  // past the identifier
        bad[at] ^= static_cast<std::byte>(1 + gen() % 255);
        auto out = decode(std::move(bad), 4096, 1000);
        // Checksums catch every flip in chunk data. The one flip the format cannot see turns a data
        // chunk's type into a skippable one (0x00/0x01 -> 0x80/0x81): that chunk's data goes missing.
        if (out) {
            EXPECT_EQ(static_cast<unsigned>(framed[at]) & 0x7e, 0u) << "flipped byte " << at;
            EXPECT_LT(out->size(), data.size());
        }
    }
}

TEST(snappy_frame_source, upstream_errors_pass_through_unchanged) {
    snappy_frame_source src(std::make_unique<scripted_source>(frame(test::random_bytes(200 * 1024, 1)), 1000, 3));
    auto out = test::drain(src);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::io));
    EXPECT_EQ(out.error().context, "injected read fault");
}

}  // namespace
}  // namespace cdi
