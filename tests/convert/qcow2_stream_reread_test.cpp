// qcow2_stream_decoder with a range reader (issue 14): bytes that pass before a table names them are
// kept as positions only and read again when claimed, instead of held or spilled. The layouts that
// need it (an L1 table after the data, compressed extents sharing sectors) decode byte for byte as
// `qemu-img convert -O raw` does, with no scratch and a window of 64 KiB; a reader that fails ends
// the decode with its class. The reader here serves the image file by position; the HTTP one is
// tested against nginx and lying origins in tests/importer/http/http_range_reader_test.cpp.
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
    // Options with a 64 KiB window and a scratch directory that must stay unused.
    qcow2_stream_options with(range_reader& r) {
        fs::create_directories(d() / "scratch");
        qcow2_stream_options o;
        o.window_limit = 64 << 10;
        o.chunk = 4096;
        o.spill_dir = d() / "scratch";
        o.spill_limit = 1ull << 30;
        o.reread = &r;
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

TEST_F(qcow2_stream_reread_test, reads_nothing_again_for_qemu_img_default_layout) {
    const auto p = d() / "default.qcow2";
    must_run("qemu-img create -q -f raw " + h::q(d() / "s.raw") + " 16M");
    must_run("qemu-io -f raw -c 'write -P 0x11 0 3M' -c 'write -P 0x22 9M 2M' " + h::q(d() / "s.raw") + " >/dev/null");
    must_run("qemu-img convert -f raw -O qcow2 -o cluster_size=4k " + h::q(d() / "s.raw") + " " + h::q(p));
    file_ranges ranges(p);
    auto o = with(ranges);
    o.chunk = 65536;
    const auto s = expect_same_as_qemu_img(p, d(), o);
    EXPECT_EQ(s.reread_bytes, 0u);
    EXPECT_EQ(ranges.reads(), 0u);
}

TEST_F(qcow2_stream_reread_test, ends_with_the_readers_class_when_bytes_cannot_be_read_again) {
    const auto p = l1_at_end();
    file_ranges ranges(p);
    ranges.fail_from(2);
    expect_stream_refused(decode_stream(p, d(), with(ranges)), errc::truncated, "the origin changed");
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
