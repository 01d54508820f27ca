// The pieces under qcow2_stream_decoder: the header read from a stream's first cluster (same verdicts
// as the file inspector), the geometry of images real qemu-img writes, host_claims overlap checks,
// L1/L2 entry decoding (qemu's cluster and subcluster types) and the inflater. The window has its own
// file (qcow2_stream_window_test.cpp).
#include "convert/qcow2_stream_entries.hpp"
#include "convert/qcow2_stream_inflate.hpp"
#include "convert/qcow2_stream_layout.hpp"

#include "support/hostile_images.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <zlib.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;

// The first cluster of a file, as the decoder hands it to read_stream_head.
result<qcow2_header> stream_head(const fs::path& p) {
    const auto all = test::read_file_bytes(p);
    const std::uint32_t bits = static_cast<std::uint32_t>(h::peek_be(p, 20, 4));
    std::vector<std::byte> c0(std::size_t{1} << std::min(bits, 21u));
    std::copy_n(all.begin(), std::min(all.size(), c0.size()), c0.begin());
    return qcow2_header::read_stream_head(c0);
}

qcow2_geometry geometry_of(const fs::path& p) {
    auto hd = stream_head(p);
    EXPECT_TRUE(hd.has_value()) << hd.error().message();
    return stream_geometry(*hd);
}

class qcow2_stream_layout : public ::testing::Test {
protected:
    void SetUp() override { CDI_REQUIRE_TOOL("qemu-img"); }
    fs::path image(const std::string& opts, const std::string& size = "64M") {
        const auto p = dir_ / ("img" + std::to_string(++n_) + ".qcow2");
        test::must_run("qemu-img create -q -f qcow2 " + opts + " " + h::q(p) + " " + size);
        return p;
    }
    const fs::path& d() const { return dir_.path(); }

private:
    test::temp_dir dir_;
    int n_ = 0;
};

TEST_F(qcow2_stream_layout, qemu_img_puts_refcount_table_then_l1_before_any_l2_or_data) {
    const auto g = geometry_of(image(""));
    EXPECT_EQ(g.cluster_size, 65536u);
    EXPECT_EQ(g.reftable_offset, 65536u);
    EXPECT_EQ(g.l1_offset, 3 * 65536u);  // header, refcount table, first refcount block, L1
    EXPECT_EQ(g.l1_entries, 1u);
    EXPECT_EQ(g.l2_entries, 8192u);
    EXPECT_EQ(g.l2_span(), 512ull << 20);
    EXPECT_FALSE(g.extended_l2);
    EXPECT_EQ(g.virtual_size, 64ull << 20);
}

TEST_F(qcow2_stream_layout, extended_l2_halves_the_entries_and_has_32_subclusters) {
    const auto g = geometry_of(image("-o extended_l2=on"));
    EXPECT_TRUE(g.extended_l2);
    EXPECT_EQ(g.l2_entry_bytes, 16u);
    EXPECT_EQ(g.l2_entries, 4096u);
    EXPECT_EQ(g.subcluster_size, 2048u);
}

TEST_F(qcow2_stream_layout, zstd_compression_type_and_small_clusters) {
    const auto g = geometry_of(image("-o compression_type=zstd,cluster_size=512"));
    EXPECT_EQ(g.compression_type, 1u);
    EXPECT_EQ(g.cluster_size, 512u);
    EXPECT_EQ(g.csize_shift, 61u);
}

TEST_F(qcow2_stream_layout, stream_head_agrees_with_the_file_inspector) {
    const auto p = image("-o cluster_size=2M", "3G");
    auto file = image_reader::open(p);
    ASSERT_TRUE(file.has_value());
    auto from_file = qcow2_header::read(*file);
    auto from_stream = stream_head(p);
    ASSERT_TRUE(from_file.has_value() && from_stream.has_value());
    EXPECT_EQ(from_stream->virtual_size(), from_file->virtual_size());
    EXPECT_EQ(from_stream->l1_offset(), from_file->l1_offset());
    EXPECT_EQ(from_stream->l1_entries(), from_file->l1_entries());
}

TEST_F(qcow2_stream_layout, stream_head_refuses_what_the_inspector_refuses) {
    auto backing = stream_head(h::qcow2_backing(d(), "/etc/passwd"));
    ASSERT_FALSE(backing.has_value());
    EXPECT_TRUE(backing.error().is(errc::unsafe_image));
    EXPECT_NE(backing.error().context.find("\"/etc/passwd\""), std::string::npos) << backing.error().message();
    auto l1 = stream_head(h::qcow2_l1_size(d(), 0x7fffffff));
    ASSERT_FALSE(l1.has_value());
    EXPECT_TRUE(l1.error().is(errc::corrupt_image)) << l1.error().message();
    auto crypt = stream_head(h::qcow2_crypt_method(d(), 1));
    ASSERT_FALSE(crypt.has_value());
    EXPECT_TRUE(crypt.error().is(errc::bad_image)) << crypt.error().message();
}

TEST(qcow2_stream_claims, refuses_overlap_naming_both_structures) {
    host_claims c;
    ASSERT_TRUE(c.claim(0, 65536, host_use::header));
    ASSERT_TRUE(c.claim(196608, 65536, host_use::l1_table));
    auto r = c.claim(196608 + 4096, 65536, host_use::data);
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is(errc::corrupt_image));
    EXPECT_EQ(r.error().context, "qcow2 data cluster at 200704 overlaps a L1 table at 196608");
    EXPECT_FALSE(c.claim(65535, 2, host_use::l2_table));
}

TEST(qcow2_stream_claims, lets_compressed_extents_share_sectors_but_nothing_else) {
    host_claims c;
    ASSERT_TRUE(c.claim(1000, 1048, host_use::compressed));
    ASSERT_TRUE(c.claim(1900, 660, host_use::compressed));  // the sector 1536..2047 is shared
    EXPECT_FALSE(c.claim(2048, 512, host_use::data));
    EXPECT_TRUE(c.claim(4096, 512, host_use::data));
}

TEST(qcow2_stream_claims, merges_contiguous_claims_of_one_kind) {
    host_claims c;
    for (std::uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(c.claim(i * 4096, 4096, host_use::data));
    EXPECT_EQ(c.ranges(), 1u);
    ASSERT_TRUE(c.claim(100 * 4096, 4096, host_use::l2_table));
    EXPECT_EQ(c.ranges(), 2u);
}

TEST(qcow2_stream_claims, refuses_l1_table_inside_the_header_cluster) {
    qcow2_geometry g;
    g.cluster_size = 65536;
    g.l1_offset = 0;
    g.l1_bytes = 8;
    host_claims c;
    auto r = claim_fixed_structures(g, c);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().context.find("L1 table at 0 overlaps a header"), std::string::npos) << r.error().message();
}

qcow2_geometry geo(std::uint32_t bits, bool extended) {
    qcow2_geometry g;
    g.cluster_bits = bits;
    g.cluster_size = 1ull << bits;
    g.extended_l2 = extended;
    g.csize_shift = 62 - (bits - 8);
    return g;
}

TEST(qcow2_stream_entries, decodes_standard_entries_as_qemu_does) {
    const auto g = geo(16, false);
    auto normal = decode_l2_entry(g, (1ull << 63) | 0x50000, 0);
    ASSERT_TRUE(normal.has_value());
    EXPECT_EQ(normal->type, l2_mapping::kind::normal);
    EXPECT_EQ(normal->host_offset, 0x50000u);
    EXPECT_EQ(decode_l2_entry(g, 0, 0)->type, l2_mapping::kind::unallocated);
    EXPECT_EQ(decode_l2_entry(g, 1, 0)->type, l2_mapping::kind::zero);
    EXPECT_EQ(decode_l2_entry(g, 0x50000 | 1, 0)->type, l2_mapping::kind::zero);  // zero flag wins over the offset
    auto unaligned = decode_l2_entry(g, 0x50200, 0);
    ASSERT_FALSE(unaligned.has_value());
    EXPECT_TRUE(unaligned.error().is(errc::corrupt_image));
}

TEST(qcow2_stream_entries, refuses_zero_entries_in_a_version_2_image_as_qemu_does) {
    // qemu signals corruption ("Zero cluster entry found in pre-v3 image") and qemu-img fails.
    auto g = geo(16, false);
    g.zero_clusters = false;
    for (const std::uint64_t entry : {std::uint64_t{1}, std::uint64_t{0x50000 | 1}, std::uint64_t{(1ull << 63) | 0x50000 | 1}}) {
        auto r = decode_l2_entry(g, entry, 0);
        ASSERT_FALSE(r.has_value()) << entry;
        EXPECT_TRUE(r.error().is(errc::corrupt_image));
    }
    EXPECT_EQ(decode_l2_entry(g, (1ull << 63) | 0x50000, 0)->type, l2_mapping::kind::normal);
    EXPECT_EQ(decode_l2_entry(g, 0, 0)->type, l2_mapping::kind::unallocated);
}

TEST(qcow2_stream_entries, compressed_length_is_sectors_less_the_offset_into_the_first) {
    const auto g = geo(16, false);  // csize_shift 54, 8 bits of (sectors - 1)
    auto c = decode_l2_entry(g, (1ull << 62) | (2ull << 54) | 0x30100, 0);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->type, l2_mapping::kind::compressed);
    EXPECT_EQ(c->host_offset, 0x30100u);
    EXPECT_EQ(c->host_length, 3 * 512u - 0x100);
}

TEST(qcow2_stream_entries, extended_l2_subcluster_types) {
    const auto g = geo(16, true);
    auto mixed = decode_l2_entry(g, 0x50000, (0x0000000cull << 32) | 0x3);
    ASSERT_TRUE(mixed.has_value());
    EXPECT_EQ(mixed->type, l2_mapping::kind::normal);
    EXPECT_EQ(mixed->data_mask, 0x3u);
    EXPECT_EQ(mixed->zero_mask, 0xcu);
    EXPECT_EQ(decode_l2_entry(g, 0, 0xffffffffull << 32)->type, l2_mapping::kind::zero);
    EXPECT_FALSE(decode_l2_entry(g, 0x50000, (1ull << 32) | 1));  // allocated and zero
    EXPECT_FALSE(decode_l2_entry(g, 0, 1));                       // allocated without a host cluster
}

TEST(qcow2_stream_entries, l1_entry_must_be_cluster_aligned) {
    const auto g = geo(16, false);
    EXPECT_EQ(*decode_l1_entry(g, (1ull << 63) | 0x40000), 0x40000u);
    EXPECT_FALSE(decode_l1_entry(g, 0x40200));
}

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

TEST(qcow2_stream_inflate, refuses_garbage_and_short_data_as_decompress) {
    std::vector<std::byte> out(65536);
    for (int type = 0; type < 2; ++type) {
        auto inf = qcow2_inflater::create(static_cast<std::uint8_t>(type));
        ASSERT_TRUE(inf.has_value());
        auto r = inf->inflate(bytes_of(std::string(64, '\x7f')), out);
        ASSERT_FALSE(r.has_value());
        EXPECT_TRUE(r.error().is(errc::decompress)) << r.error().message();
    }
    EXPECT_FALSE(qcow2_inflater::create(2));
}

TEST(qcow2_stream_inflate, zlib_wrapped_takes_one_whole_stream_of_at_most_the_output) {
    // VMDK grains: a zlib stream (header and Adler-32) read as uncompress() reads it.
    const std::string raw(3000, 'v');
    std::vector<std::byte> packed(compressBound(raw.size()));
    uLongf n = packed.size();
    ASSERT_EQ(compress(reinterpret_cast<Bytef*>(packed.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), raw.size()), Z_OK);
    packed.resize(n);
    auto inf = qcow2_inflater::create_zlib_wrapped();
    ASSERT_TRUE(inf.has_value());
    std::vector<std::byte> out(4096);
    auto whole = packed;
    whole.resize(whole.size() + 7);  // bytes after the stream's end are ignored
    auto made = inf->inflate_whole_stream(whole, out);
    ASSERT_TRUE(made.has_value()) << made.error().message();
    EXPECT_EQ(*made, raw.size());
    auto small = inf->inflate_whole_stream(packed, std::span(out).first(2999));
    ASSERT_FALSE(small.has_value());
    EXPECT_TRUE(small.error().is(errc::decompress)) << small.error().message();
    auto cut = inf->inflate_whole_stream(std::span(packed).first(packed.size() - 2), out);  // Adler-32 cut
    ASSERT_FALSE(cut.has_value());
    EXPECT_TRUE(cut.error().is(errc::decompress)) << cut.error().message();
    auto raw_deflate = inf->inflate_whole_stream(std::span(packed).subspan(2), out);  // no zlib header
    ASSERT_FALSE(raw_deflate.has_value());
    EXPECT_TRUE(raw_deflate.error().is(errc::decompress)) << raw_deflate.error().message();
}

}  // namespace
}  // namespace cdi
