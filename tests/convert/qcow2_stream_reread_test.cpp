// qcow2_stream_decoder with a range reader (issue 14): bytes that pass before a table names them are
// kept as positions only and read again when claimed, instead of held or spilled; and once the window
// fills, the tables still far ahead are read by position first, so their data is claimed before it
// passes. The layouts that need it (an L1 table after the data, compressed extents sharing sectors)
// decode byte for byte as `qemu-img convert -O raw` does, with no scratch and a window of 64 KiB; a
// reader that fails ends the decode with its class. The reader here serves the image file by
// position; the HTTP one is tested against nginx and lying origins in
// tests/importer/http/http_range_reader_test.cpp.
#include "tests/convert/qcow2_stream_expect.hpp"

#include <cstring>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using test::decode_stream;
using test::expect_same_as_qemu_img;
using test::expect_stream_refused;
using test::must_run;

// The image's bytes by position, counting what is asked; fails with `fail` from the n-th read on.
class file_ranges final : public range_reader {
public:
    explicit file_ranges(const fs::path& image, std::uint64_t batch = 256 << 10)
        : data_(test::read_file_bytes(image)), batch_(batch) {}
    result<void> read(std::span<const range_part> parts) override {
        ++reads_;
        if (fail_at_ && reads_ >= fail_at_) return make_error(errc::truncated, "the origin changed");
        for (const auto& p : parts) {
            if (p.offset + p.out.size() > data_.size()) return make_error(errc::truncated, "past the end");
            std::memcpy(p.out.data(), data_.data() + p.offset, p.out.size());
            fetched_ += p.out.size();
        }
        return {};
    }
    std::uint64_t batch_bytes() const noexcept override { return batch_; }
    std::uint64_t bytes_fetched() const noexcept { return fetched_; }
    unsigned reads() const { return reads_; }
    void fail_from(unsigned n) { fail_at_ = n; }

private:
    std::vector<std::byte> data_;
    std::uint64_t batch_;
    std::uint64_t fetched_ = 0;
    unsigned reads_ = 0;
    unsigned fail_at_ = 0;
};

class qcow2_stream_reread_test : public ::testing::Test {
protected:
    void SetUp() override {
        CDI_REQUIRE_TOOL("qemu-img");
        CDI_REQUIRE_TOOL("qemu-io");
    }
    const fs::path& d() const { return dir_.path(); }

    // The L1 table past all the data (qcow2_stream_expect.hpp): it all passes before a table names it.
    fs::path l1_at_end() { return test::l1_at_end(d()); }
    // Options with a 64 KiB window and a scratch directory that must stay unused; tables are read
    // ahead only where a test says so (the others pin the re-reading of bytes that passed).
    qcow2_stream_options with(range_reader& r, bool tables_ahead = false) {
        fs::create_directories(d() / "scratch");
        qcow2_stream_options o;
        o.window_limit = 64 << 10;
        o.chunk = 4096;
        o.spill_dir = d() / "scratch";
        o.spill_limit = 1ull << 30;
        o.reread = &r;
        o.read_tables_ahead = tables_ahead;
        return o;
    }

private:
    test::temp_dir dir_;
};

TEST_F(qcow2_stream_reread_test, reads_passed_over_bytes_again_instead_of_spilling_them) {
    const auto p = l1_at_end();
    file_ranges ranges(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(ranges));
    EXPECT_LE(s.window_peak, 64u << 10);
    EXPECT_EQ(s.spill_bytes_written, 0u) << "the origin serves them again: no scratch";
    EXPECT_GT(s.passed_over, 256u << 10);
    EXPECT_GT(s.reread_bytes, 256u << 10) << "the data and its L2 tables, read again";
    EXPECT_EQ(s.reread_bytes, ranges.bytes_fetched());
    EXPECT_LE(s.reread_bytes, s.passed_over);
    EXPECT_GT(ranges.reads(), 1u) << "gathered in batches of 256 KiB, not all at once";
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_reread_test, reads_compressed_extents_sharing_sectors_again_byte_for_byte) {
    // Compressed extents packed byte by byte, tiny ones inside their neighbour's last sector, all
    // passing before the L1 (qcow2_stream_decoder_test has the same image through scratch).
    const auto p = test::compressed_l1_at_end(d());
    ASSERT_GT(h::peek_be(p, 40, 8), 1u << 20) << "the resize should have moved the L1 table past the data";
    file_ranges ranges(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(ranges), 1000);
    EXPECT_GT(s.compressed_clusters, 1000u);
    EXPECT_EQ(s.spill_bytes_written, 0u);
    EXPECT_GT(s.reread_bytes, 1u << 20);
}

TEST_F(qcow2_stream_reread_test, reads_nothing_again_nor_ahead_for_qemu_img_default_layout) {
    // Its L2 tables sit before their data, its L1 right after the header: the window never fills.
    const auto p = d() / "default.qcow2";
    must_run("qemu-img create -q -f raw " + h::q(d() / "s.raw") + " 16M");
    must_run("qemu-io -f raw -c 'write -P 0x11 0 3M' -c 'write -P 0x22 9M 2M' " + h::q(d() / "s.raw") + " >/dev/null");
    must_run("qemu-img convert -f raw -O qcow2 -o cluster_size=4k " + h::q(d() / "s.raw") + " " + h::q(p));
    for (const bool tables_ahead : {false, true}) {
        file_ranges ranges(p);
        auto o = with(ranges, tables_ahead);
        o.chunk = 65536;
        const auto s = expect_same_as_qemu_img(p, d(), o);
        EXPECT_EQ(s.reread_bytes, 0u);
        EXPECT_EQ(s.tables_read_ahead, 0u);
        EXPECT_EQ(ranges.reads(), 0u) << "tables ahead: " << tables_ahead;
    }
}

TEST_F(qcow2_stream_reread_test, ends_with_the_readers_class_when_bytes_cannot_be_read_again) {
    const auto p = l1_at_end();
    file_ranges ranges(p);
    ranges.fail_from(2);
    expect_stream_refused(decode_stream(p, d(), with(ranges)), errc::truncated, "the origin changed");
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_reread_test, reads_an_l1_at_the_end_and_its_l2_tables_ahead_so_no_data_is_read_again) {
    const auto p = l1_at_end();
    file_ranges ranges(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(ranges, true));
    EXPECT_GE(s.tables_read_ahead, 2u) << "the L1 and the L2 tables more than a window ahead";
    EXPECT_GE(s.read_ahead_bytes, h::peek_be(p, 36, 4) * 8) << "the whole L1";
    EXPECT_EQ(s.passed_over, 0u) << "the window had room for what passed before the tables were read";
    EXPECT_EQ(s.reread_bytes, 0u);
    EXPECT_EQ(ranges.bytes_fetched(), s.read_ahead_bytes) << "only tables were read by position";
    EXPECT_LE(s.window_peak, 64u << 10);
    EXPECT_EQ(s.spill_bytes_written, 0u);
}

TEST_F(qcow2_stream_reread_test, reads_ahead_an_l1_that_ends_the_file_unpadded_across_many_chunks) {
    // 8,195 L1 entries (65,560 bytes: 128 clusters and 24 bytes) at the end of the file, the file cut
    // right after them: qemu reads only the table's bytes. The stream passes the table in 4 KiB chunks
    // after the decoder has read it ahead, and its last chunk ends where the table does.
    const auto p = d() / "l1end-unpadded.qcow2";
    must_run("qemu-img create -q -f qcow2 -o cluster_size=512 " + h::q(p) + " 32M");
    must_run("qemu-io -f qcow2 -c 'write -P 0x42 0 256k' -c 'write -P 0x43 16M 64k' " + h::q(p) + " >/dev/null");
    must_run("qemu-img resize -q " + h::q(p) + " " + std::to_string((256u << 20) + 3 * (32u << 10)));
    const std::uint64_t l1_end = h::peek_be(p, 40, 8) + h::peek_be(p, 36, 4) * 8;
    ASSERT_EQ(h::peek_be(p, 36, 4), 8195u);
    ASSERT_GE(fs::file_size(p), l1_end) << "the L1 should be the last thing in the file";
    ASSERT_LT(fs::file_size(p) - l1_end, 1024u) << "the L1 should be the last thing in the file";
    fs::resize_file(p, l1_end);
    file_ranges ranges(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(ranges, true));
    EXPECT_GE(s.tables_read_ahead, 1u);
    EXPECT_EQ(s.reread_bytes, 0u);
}

TEST_F(qcow2_stream_reread_test, reads_compressed_extents_byte_for_byte_with_tables_read_ahead) {
    const auto p = test::compressed_l1_at_end(d());
    file_ranges ranges(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(ranges, true), 1000);
    EXPECT_GE(s.tables_read_ahead, 1u);
    EXPECT_EQ(s.spill_bytes_written, 0u);
}

TEST_F(qcow2_stream_reread_test, reads_no_more_tables_ahead_than_the_claims_they_queue_allow) {
    // L2 tables after their data: 256 KiB written, an internal snapshot taken, then one sector
    // written again in each 32 KiB range, so qemu copies each of the eight L2 tables (64 entries of
    // 512-byte clusters) to the end of the file. The L1 stays in front: the L2 tables are far ahead.
    const auto p = d() / "l2end.qcow2";
    must_run("qemu-img create -q -f qcow2 -o cluster_size=512 " + h::q(p) + " 1M");
    must_run("qemu-io -f qcow2 -c 'write -P 0x42 0 256k' " + h::q(p) + " >/dev/null");
    must_run("qemu-img snapshot -c before " + h::q(p));
    std::string again;
    for (int i = 0; i < 8; ++i) again += " -c 'write -P 0x55 " + std::to_string(i * 32 + 5) + "k 512'";
    must_run("qemu-io -f qcow2" + again + " " + h::q(p) + " >/dev/null");
    file_ranges all(p);
    const auto s = expect_same_as_qemu_img(p, d(), with(all, true));
    EXPECT_GE(s.tables_read_ahead, 7u);
    EXPECT_LE(all.reads(), 2u) << "eight tables of 512 bytes fit one batch";
    // At most 64 claims ahead: one table per read, each once the stream has taken the claims of
    // the one before (the last ones may be near enough by then for the stream to bring them).
    file_ranges bounded(p);
    auto o = with(bounded, true);
    o.claims_ahead_limit = 64;
    const auto b = expect_same_as_qemu_img(p, d(), o);
    EXPECT_GE(b.tables_read_ahead, 4u);
    EXPECT_GE(bounded.reads(), b.tables_read_ahead) << "one table per read";
    EXPECT_EQ(b.spill_bytes_written, 0u);
}

TEST_F(qcow2_stream_reread_test, refuses_a_stream_cut_before_a_table_it_read_ahead) {
    // The origin still serves the whole body; the stream stops short of the L1 it read by position
    // (and of the last data: the first thing named missing).
    const auto p = l1_at_end();
    const auto cut = d() / "cut.qcow2";
    fs::copy_file(p, cut);
    fs::resize_file(cut, h::peek_be(p, 40, 8) - 512);
    file_ranges ranges(p);
    const auto got = decode_stream(cut, d(), with(ranges, true));
    expect_stream_refused(got, errc::truncated, "qcow2 stream ended");
    EXPECT_GE(ranges.reads(), 1u) << "the L1 was read ahead";
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_reread_test, ends_with_the_readers_class_when_a_table_cannot_be_read_ahead) {
    const auto p = l1_at_end();
    file_ranges ranges(p);
    ranges.fail_from(1);
    expect_stream_refused(decode_stream(p, d(), with(ranges, true)), errc::truncated, "the origin changed");
    EXPECT_TRUE(fs::is_empty(d() / "scratch"));
}

TEST_F(qcow2_stream_reread_test, still_refuses_a_stream_cut_inside_its_tables) {
    const auto full = l1_at_end();
    const auto p = d() / "cut.qcow2";
    fs::copy_file(full, p);
    fs::resize_file(p, h::peek_be(p, 40, 8) + 100);
    file_ranges ranges(p);
    expect_stream_refused(decode_stream(p, d(), with(ranges)), errc::truncated, "qcow2 stream ended");
}

}  // namespace
}  // namespace cdi
