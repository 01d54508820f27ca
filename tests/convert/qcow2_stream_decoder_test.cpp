// qcow2_stream_decoder against the real qemu-img as the oracle: images made by qemu-img / qemu-io
// in every layout qemu 7.2 writes (cluster sizes, v2 and v3, zlib and zstd compression, extended L2,
// zero clusters, shuffled writes, an L1 moved to the end, through the memory window or spilled to
// scratch), decoded from a stream in odd-sized reads and compared byte for byte with
// `qemu-img convert -O raw`; hostile images refused with a class.
#include "tests/convert/qcow2_stream_expect.hpp"

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using test::decode_stream;
using test::expect_same_as_qemu_img;
using test::expect_stream_refused;
using test::l1_at_end;
using test::must_run;

class qcow2_stream_decoder_test : public ::testing::Test {
protected:
    void SetUp() override {
        CDI_REQUIRE_TOOL("qemu-img");
        CDI_REQUIRE_TOOL("qemu-io");
    }
    const fs::path& d() const { return dir_.path(); }

    // A 64 MiB raw with data at the start, a run in the middle, a zero run and the last MiB.
    fs::path raw() {
        const auto p = d() / "src.raw";
        if (!fs::exists(p)) {
            must_run("qemu-img create -q -f raw " + h::q(p) + " 64M");
            must_run("qemu-io -f raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 20M 3M' -c 'write -P 0 40M 1M' "
                     "-c 'write -P 0x33 63M 1M' -c 'write -P 0x44 30000k 5k' " + h::q(p) + " >/dev/null");
            // Incompressible bytes too, so compressed images also hold clusters stored uncompressed.
            must_run("head -c 1M /dev/urandom | dd of=" + h::q(p) + " bs=1M seek=10 conv=notrunc status=none");
        }
        return p;
    }
    // qemu-img convert -O qcow2 of raw() with extra options.
    fs::path converted(const std::string& name, const std::string& opts) {
        const auto p = d() / name;
        must_run("qemu-img convert -f raw -O qcow2 " + opts + " " + h::q(raw()) + " " + h::q(p));
        return p;
    }

private:
    test::temp_dir dir_;
};

TEST_F(qcow2_stream_decoder_test, decodes_qemu_img_default_layout_holding_nothing_back) {
    const auto s = expect_same_as_qemu_img(converted("default.qcow2", ""), d());
    EXPECT_GT(s.data_clusters, 0u);
    EXPECT_EQ(s.window_peak, 0u) << "qemu-img's layout needs no window";
}

TEST_F(qcow2_stream_decoder_test, decodes_512_byte_clusters) {
    const auto s = expect_same_as_qemu_img(converted("c512.qcow2", "-o cluster_size=512"), d());
    EXPECT_EQ(s.window_peak, 0u);
}

TEST_F(qcow2_stream_decoder_test, decodes_2_mib_clusters) {
    expect_same_as_qemu_img(converted("c2m.qcow2", "-o cluster_size=2M"), d());
}

TEST_F(qcow2_stream_decoder_test, decodes_qcow2_v2) {
    expect_same_as_qemu_img(converted("v2.qcow2", "-o compat=0.10"), d());
}

TEST_F(qcow2_stream_decoder_test, decodes_zlib_compressed_clusters) {
    const auto s = expect_same_as_qemu_img(converted("zlib.qcow2", "-c"), d());
    EXPECT_GT(s.compressed_clusters, 0u);
    EXPECT_EQ(s.window_peak, 0u);
}

TEST_F(qcow2_stream_decoder_test, decodes_zstd_compressed_clusters) {
    const auto s = expect_same_as_qemu_img(converted("zstd.qcow2", "-c -o compression_type=zstd"), d());
    EXPECT_GT(s.compressed_clusters, 0u);
}

TEST_F(qcow2_stream_decoder_test, decodes_compressed_512_byte_clusters_read_a_byte_short_of_each_sector) {
    expect_same_as_qemu_img(converted("zlib512.qcow2", "-c -o cluster_size=512"), d(), {}, 511);
}

TEST_F(qcow2_stream_decoder_test, decodes_extended_l2_subclusters) {
    // Subcluster-granular writes and zeroes over a fresh extended-L2 image (qemu-io), plus a converted one.
    expect_same_as_qemu_img(converted("ext.qcow2", "-o extended_l2=on"), d());
    const auto p = d() / "ext-io.qcow2";
    must_run("qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k " + h::q(p) + " 16M");
    must_run("qemu-io -f qcow2 -c 'write -P 0x5a 2k 2k' -c 'write -P 0x6b 70k 6k' -c 'write -z 1M 64k' -c 'write -P 0x7c 1M 2k' "
             "-c 'write -P 0x7d 3M 128k' -c 'write -z 3M 4k' " + h::q(p) + " >/dev/null");
    expect_same_as_qemu_img(p, d());
}

// qemu allocates by subcluster with extended L2: a write into the last cluster leaves a file that ends
// right after the written subcluster, not at the cluster's end (qemu reads only what is allocated).
TEST_F(qcow2_stream_decoder_test, decodes_extended_l2_image_whose_file_ends_inside_its_last_cluster) {
    const auto p = d() / "ext-short.qcow2";
    must_run("qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k " + h::q(p) + " 8M");
    must_run("qemu-io -f qcow2 -c 'write -P 0x5a 7M 1k' " + h::q(p) + " >/dev/null");
    ASSERT_NE(fs::file_size(p) % (64 * 1024), 0u) << "the file should end inside a cluster";
    expect_same_as_qemu_img(p, d());
}

TEST_F(qcow2_stream_decoder_test, decodes_zero_clusters_over_data) {
    const auto p = converted("zero.qcow2", "");
    must_run("qemu-io -f qcow2 -c 'write -z 0 512k' -c 'write -z 20M 1M' -c 'write -z 50M 1M' " + h::q(p) + " >/dev/null");
    expect_same_as_qemu_img(p, d());
}

// Data under two L2 tables (64 KiB clusters: one table maps 512 MiB), read in one-cluster chunks, so
// the second table arrives chunks after the first: nothing of qemu-img's layout is held back.
TEST_F(qcow2_stream_decoder_test, holds_nothing_back_across_l2_tables_of_qemu_img_layout) {
    const auto p = d() / "two-l2.qcow2";
    must_run("qemu-img create -q -f qcow2 " + h::q(p) + " 1G");
    must_run("qemu-io -f qcow2 -c 'write -P 0x61 1M 2M' -c 'write -P 0x62 700M 2M' -c 'write -P 0x63 5M 64k' " + h::q(p) + " >/dev/null");
    qcow2_stream_options opts;
    opts.chunk = 65536;
    EXPECT_EQ(expect_same_as_qemu_img(p, d(), opts).window_peak, 0u);
}

TEST_F(qcow2_stream_decoder_test, decodes_compressed_extents_split_across_chunks_and_l2_tables) {
    const auto src = d() / "two-l2.raw";
    must_run("qemu-img create -q -f raw " + h::q(src) + " 1G");
    must_run("head -c 3M /dev/urandom | base64 | dd of=" + h::q(src) + " bs=1M seek=1 conv=notrunc status=none");
    must_run("head -c 3M /dev/urandom | base64 | dd of=" + h::q(src) + " bs=1M seek=700 conv=notrunc status=none");
    const auto p = d() / "two-l2-c.qcow2";
    must_run("qemu-img convert -c -f raw -O qcow2 " + h::q(src) + " " + h::q(p));
    qcow2_stream_options opts;
    opts.chunk = 65536;
    const auto s = expect_same_as_qemu_img(p, d(), opts, 1000);
    EXPECT_GT(s.compressed_clusters, 100u);
}

TEST_F(qcow2_stream_decoder_test, decodes_sparse_empty_image) {
    const auto p = d() / "empty.qcow2";
    must_run("qemu-img create -q -f qcow2 " + h::q(p) + " 1G");
    auto dec = decode_stream(p, d());
    ASSERT_TRUE(dec.stats.has_value()) << dec.stats.error().message();
    EXPECT_EQ(fs::file_size(dec.target), 1ull << 30);
    EXPECT_EQ(test::allocated_bytes(dec.target), 0u);
}

using test::shuffled;

TEST_F(qcow2_stream_decoder_test, decodes_image_written_in_shuffled_guest_order) {
    const auto p = shuffled(d());
    EXPECT_EQ(expect_same_as_qemu_img(p, d()).window_peak, 0u);
}

TEST_F(qcow2_stream_decoder_test, refuses_more_scattered_claims_than_its_limit_as_bad_image_naming_the_switch) {
    // The claims' memory is the one cost that grows with the image: past the limit a clear refusal,
    // not an OOM kill. The same image decodes with room for its claims.
    const auto p = shuffled(d());
    qcow2_stream_options opts;
    // Its L1 names ~100 L2 tables at once (~80 bytes each as claims); its 200 clusters take 8 bytes each.
    opts.claims_memory_limit = 1024;
    const auto refused = decode_stream(p, d(), opts);
    expect_stream_refused(refused, errc::bad_image, "import it with CDI_CONVERTER=qemu-img");
    opts.claims_memory_limit = 16 << 10;
    expect_same_as_qemu_img(p, d(), opts);
}

TEST_F(qcow2_stream_decoder_test, keeps_clusters_named_ahead_of_the_stream_in_eight_bytes_each) {
    // 2,500 clusters written in shuffled guest order over 32 MiB: its 16 L2 tables come among the
    // first writes, so over a thousand clusters wait ahead of the stream at once.
    const auto p = shuffled(d(), 2500, 32 << 20);
    const auto s = expect_same_as_qemu_img(p, d());
    EXPECT_EQ(s.queue_peak % 8, 0u);
    EXPECT_GT(s.queue_peak, 1000u * 8);
    EXPECT_LE(s.queue_peak, s.data_clusters * 8 + 16 * cluster_queue::table_overhead) << "8 bytes a cluster, and each table's slot";
}

TEST_F(qcow2_stream_decoder_test, spills_clusters_named_ahead_past_the_queue_limit_or_asks_for_scratch) {
    // The same 16 tables with room for one of them in memory: without scratch the decoder asks for it;
    // with it the other tables' clusters wait in an unnamed file, buffered and O_DIRECT.
    const auto p = shuffled(d(), 2500, 32 << 20);
    qcow2_stream_options opts;
    opts.queue_memory_limit = 2048;
    expect_stream_refused(decode_stream(p, d(), opts), errc::scratch_required, "needs scratch space");
    fs::create_directories(d() / "scratch");
    opts.spill_dir = d() / "scratch";
    opts.spill_limit = 1ull << 30;
    for (const bool direct : {false, true}) {
        opts.spill_direct = direct;
        const auto s = expect_same_as_qemu_img(p, d(), opts);
        EXPECT_GT(s.queue_spilled_bytes, 0u);
        EXPECT_TRUE(fs::is_empty(d() / "scratch"));
    }
}

// The tests below read in 4 KiB chunks: within one chunk, claims are served from the chunk itself.
TEST_F(qcow2_stream_decoder_test, decodes_l1_table_at_the_end_through_the_window) {
    const auto p = l1_at_end(d());
    ASSERT_GT(h::peek_be(p, 40, 8), 300u << 10) << "the resize should have moved the L1 table past the data";
    qcow2_stream_options opts;
    opts.chunk = 4096;
    const auto s = expect_same_as_qemu_img(p, d(), opts);
    EXPECT_GT(s.window_peak, 256u << 10);
}

TEST_F(qcow2_stream_decoder_test, refuses_layout_needing_more_than_the_window_as_scratch_required) {
    qcow2_stream_options opts;
    opts.window_limit = 64 << 10;
    opts.chunk = 4096;
    expect_stream_refused(decode_stream(l1_at_end(d()), d(), opts), errc::scratch_required, "MiB of data held before its tables arrive");
}

// The same layout with a window far smaller than what must be held, and a spill directory: the rest
// goes to an unnamed scratch file, read back when the L1 and L2 tables claim it. Scratch is empty
// afterwards, on success and on failure.
qcow2_stream_options spilling(const fs::path& scratch, std::uint64_t spill_limit = 1ull << 30, bool direct = false) {
    fs::create_directories(scratch);
    qcow2_stream_options opts;
    opts.window_limit = 64 << 10;
    opts.chunk = 4096;
    opts.spill_dir = scratch;
    opts.spill_limit = spill_limit;
    opts.spill_direct = direct;
    return opts;
}

TEST_F(qcow2_stream_decoder_test, decodes_l1_table_at_the_end_spilling_past_the_window_to_scratch) {
    const auto s = expect_same_as_qemu_img(l1_at_end(d()), d(), spilling(d() / "scratch"));
    EXPECT_LE(s.window_peak, 64u << 10);
    EXPECT_GT(s.spill_bytes_written, 256u << 10);
    EXPECT_GT(s.spill_peak, 0u);
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_decoder_test, decodes_identically_spilling_with_o_direct) {
    // Under /var/tmp (or CDI_TEST_TMPDIR): O_DIRECT where the filesystem takes it, buffered where not.
    const auto s = expect_same_as_qemu_img(l1_at_end(d()), d(), spilling(d() / "scratch", 1ull << 30, true));
    EXPECT_GT(s.spill_bytes_written, 256u << 10);
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_decoder_test, decodes_compressed_image_with_l1_table_at_the_end_through_the_window_and_through_scratch) {
    // Compressed extents share sectors with their neighbours, and a tiny one may lie wholly inside the
    // last sector of the one before: all of them pass before the L1 names them, so the window must not
    // forget a shared sector when the first extent takes its bytes. 512-byte clusters: an L1 cluster
    // maps 2 MiB, so growing 8 MiB to 16 MiB moves the L1.
    const auto p = test::compressed_l1_at_end(d());
    ASSERT_GT(h::peek_be(p, 40, 8), 1u << 20) << "the resize should have moved the L1 table past the data";
    qcow2_stream_options in_memory;
    in_memory.chunk = 4096;
    EXPECT_GT(expect_same_as_qemu_img(p, d(), in_memory, 1000).window_peak, 1u << 20);
    for (const bool direct : {false, true}) {
        const auto s = expect_same_as_qemu_img(p, d(), spilling(d() / "scratch", 1ull << 30, direct), 1000);
        EXPECT_GT(s.compressed_clusters, 1000u);
        EXPECT_GT(s.spill_bytes_written, 1u << 20);
        EXPECT_TRUE(fs::is_empty(d() / "scratch"));
    }
}

TEST_F(qcow2_stream_decoder_test, writes_no_scratch_for_qemu_img_default_layout) {
    const auto p = converted("default-spill.qcow2", "-o cluster_size=4k");
    auto opts = spilling(d() / "scratch");
    opts.chunk = 65536;
    const auto s = expect_same_as_qemu_img(p, d(), opts);
    EXPECT_EQ(s.spill_bytes_written, 0u);
    EXPECT_EQ(s.spill_peak, 0u);
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
    // A spill directory that does not exist: no file was ever created, or this would fail.
    opts.spill_dir = d() / "no-such-dir";
    EXPECT_EQ(expect_same_as_qemu_img(p, d(), opts).spill_bytes_written, 0u);
}

TEST_F(qcow2_stream_decoder_test, refuses_layout_needing_more_than_the_scratch_space_as_no_space) {
    expect_stream_refused(decode_stream(l1_at_end(d()), d(), spilling(d() / "scratch", 128 << 10)), errc::no_space,
                          "scratch space is too small for this image's layout");
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_decoder_test, leaves_scratch_empty_when_a_spilling_decode_fails) {
    // Cut inside the L1 table at the end: everything before it was spilled, then the stream ends.
    const auto full = l1_at_end(d());
    const auto p = d() / "l1end-cut.qcow2";
    fs::copy_file(full, p);
    fs::resize_file(p, h::peek_be(p, 40, 8) + 100);
    expect_stream_refused(decode_stream(p, d(), spilling(d() / "scratch")), errc::truncated, "qcow2 stream ended");
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_decoder_test, decodes_whole_stream_in_one_read_and_in_tiny_reads) {
    const auto p = converted("reads.qcow2", "-o cluster_size=4k");
    expect_same_as_qemu_img(p, d(), {}, SIZE_MAX);
    expect_same_as_qemu_img(p, d(), {}, 97);
}

TEST_F(qcow2_stream_decoder_test, refuses_backing_file_naming_it) {
    expect_stream_refused(decode_stream(h::qcow2_backing(d(), "/etc/passwd"), d()), errc::unsafe_image,
                          "qcow2 backing file \"/etc/passwd\" is not allowed");
}

TEST_F(qcow2_stream_decoder_test, refuses_external_data_file) {
    expect_stream_refused(decode_stream(h::qcow2_data_file(d(), "/etc/passwd"), d()), errc::unsafe_image, "external data file");
}

TEST_F(qcow2_stream_decoder_test, refuses_encryption) {
    expect_stream_refused(decode_stream(h::qcow2_crypt_method(d(), 2), d()), errc::bad_image, "encrypted");
}

TEST_F(qcow2_stream_decoder_test, refuses_unknown_incompatible_feature) {
    expect_stream_refused(decode_stream(h::qcow2_incompat(d(), 1ull << 7), d()), errc::unsafe_image, "unknown incompatible feature bits 7");
}

TEST_F(qcow2_stream_decoder_test, refuses_an_image_without_refcount_table_as_qemu_does) {
    // Found by fuzz_qcow2_stream_decoder (fuzz/regressions/qcow2_stream_decoder/no-refcount-table).
    const auto p = h::qcow2_reftable_clusters(d(), 0);
    EXPECT_NE(test::run_command("qemu-img convert -f qcow2 -O raw " + h::q(p) + " " + h::q(d() / "oracle.raw")).status, 0)
        << "qemu-img converted a qcow2 without a refcount table";
    expect_stream_refused(decode_stream(p, d()), errc::corrupt_image, "no refcount table");
}

TEST_F(qcow2_stream_decoder_test, refuses_what_is_not_qcow2) {
    expect_stream_refused(decode_stream(raw(), d()), errc::bad_image, "not a qcow2 image");
}

TEST_F(qcow2_stream_decoder_test, refuses_stream_cut_anywhere_after_the_header_as_truncated) {
    const auto full = converted("cut.qcow2", "-o cluster_size=4k");
    const auto size = fs::file_size(full);
    for (std::uint64_t cut : {std::uint64_t{5000}, std::uint64_t{3 * 4096 + 10}, size / 3, size / 2 + 1, size - 4096, size - 1}) {
        const auto p = d() / ("cut-" + std::to_string(cut) + ".qcow2");
        fs::copy_file(full, p);
        fs::resize_file(p, cut);
        auto r = decode_stream(p, d());
        ASSERT_FALSE(r.stats.has_value()) << "cut at " << cut << " decoded";
        EXPECT_TRUE(r.stats.error().is(errc::truncated)) << "cut at " << cut << ": " << r.stats.error().message();
    }
}

// The first L2 table of a qemu-img image (one L1 entry at the L1 table's start).
std::uint64_t first_l2(const fs::path& p) { return h::peek_be(p, h::peek_be(p, 40, 8), 8) & 0x00fffffffffffe00ull; }

TEST_F(qcow2_stream_decoder_test, refuses_data_cluster_overlapping_the_l1_table) {
    const auto p = converted("overlap-l1.qcow2", "");
    h::poke_be64(p, first_l2(p), (1ull << 63) | h::peek_be(p, 40, 8));
    expect_stream_refused(decode_stream(p, d()), errc::corrupt_image, "data cluster at 196608 overlaps a L1 table");
}

TEST_F(qcow2_stream_decoder_test, refuses_two_entries_naming_one_data_cluster) {
    const auto p = converted("overlap-data.qcow2", "");
    const auto l2 = first_l2(p);
    h::poke_be64(p, l2 + 8, h::peek_be(p, l2, 8));
    expect_stream_refused(decode_stream(p, d()), errc::corrupt_image, "overlaps a data cluster");
}

TEST_F(qcow2_stream_decoder_test, refuses_data_cluster_past_the_end_of_the_stream) {
    const auto p = converted("past-end.qcow2", "");
    h::poke_be64(p, first_l2(p) + 8 * 100, (1ull << 63) | (1ull << 40));
    expect_stream_refused(decode_stream(p, d()), errc::truncated, "before the data cluster at 1099511627776");
}

TEST_F(qcow2_stream_decoder_test, refuses_l2_table_past_the_end_of_the_stream) {
    const auto p = converted("l2-past-end.qcow2", "");
    h::poke_be64(p, h::peek_be(p, 40, 8), (1ull << 63) | (1ull << 36));
    expect_stream_refused(decode_stream(p, d()), errc::truncated, "before the L2 table at 68719476736");
}

TEST_F(qcow2_stream_decoder_test, refuses_l2_table_overlapping_the_refcount_table) {
    const auto p = converted("l2-on-reftable.qcow2", "");
    h::poke_be64(p, h::peek_be(p, 40, 8), (1ull << 63) | h::peek_be(p, 48, 8));
    expect_stream_refused(decode_stream(p, d()), errc::corrupt_image, "L2 table at 65536 overlaps a refcount table");
}

TEST_F(qcow2_stream_decoder_test, refuses_unaligned_data_cluster) {
    const auto p = converted("unaligned.qcow2", "");
    h::poke_be64(p, first_l2(p), (1ull << 63) | 0x50200);
    expect_stream_refused(decode_stream(p, d()), errc::corrupt_image, "data cluster offset 0x50200 is not cluster-aligned");
}

TEST_F(qcow2_stream_decoder_test, refuses_compressed_cluster_that_inflates_short) {
    const auto p = converted("short.qcow2", "-c");
    // The first compressed extent's bytes replaced with an empty final stored deflate block.
    const std::uint64_t e = h::peek_be(p, first_l2(p), 8);
    const std::uint64_t coff = e & ((1ull << 54) - 1);
    h::poke(p, coff, std::string("\x01\x00\x00\xff\xff", 5));
    expect_stream_refused(decode_stream(p, d()), errc::decompress, "qcow2 compressed cluster (zlib)");
}

TEST_F(qcow2_stream_decoder_test, refuses_corrupt_zstd_cluster) {
    const auto p = converted("badzstd.qcow2", "-c -o compression_type=zstd");
    const std::uint64_t coff = h::peek_be(p, first_l2(p), 8) & ((1ull << 54) - 1);
    h::poke(p, coff, std::string(8, '\x7f'));
    expect_stream_refused(decode_stream(p, d()), errc::decompress, "zstd");
}

}  // namespace
}  // namespace cdi
