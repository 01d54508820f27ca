// vmdk_stream_decoder against the real qemu-img as the oracle: streamOptimized VMDKs made by
// `qemu-img convert -o subformat=streamOptimized` (qemu's layout, tables first) and built in VMware's
// layout (tables and footer at the end), decoded from a stream in odd-sized reads and compared byte for
// byte with `qemu-img convert -f vmdk -O raw`; hostile images refused with a class.
#include "convert/vmdk_stream_decoder.hpp"

#include "cdi/byte_order.hpp"

#include "support/hostile_images.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"
#include "tests/convert/vmdk_stream_builder.hpp"

#include <gtest/gtest.h>

#include <random>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using test::must_run;
using test::vmware_stream;
using bytes = std::vector<std::byte>;

struct decoded {
    result<vmdk_stream_stats> stats;
    fs::path target;
};

decoded decode_bytes(bytes data, const fs::path& target, std::size_t read_size = 65537, const vmdk_stream_options& opts = {}) {
    test::scripted_source src(std::move(data), read_size);
    auto dec = vmdk_stream_decoder::start(src, opts);
    if (!dec) return {dec.error(), target};
    auto out = positional_file::create(target, dec->virtual_size());
    if (!out) return {out.error(), target};
    return {dec->run(*out), target};
}

// The oracle's output for image, written next to it.
fs::path qemu_raw(const fs::path& image) {
    const fs::path raw = image.string() + ".oracle";
    must_run("qemu-img convert -f vmdk -O raw " + h::q(image) + " " + h::q(raw));
    return raw;
}

void expect_refused(const decoded& d, errc e, const std::string& needle) {
    ASSERT_FALSE(d.stats.has_value()) << "decoded";
    EXPECT_TRUE(d.stats.error().is(e)) << d.stats.error().message();
    EXPECT_NE(d.stats.error().context.find(needle), std::string::npos) << d.stats.error().message();
}

bytes filled(std::size_t n, std::uint8_t v) { return bytes(n, std::byte{v}); }

class vmdk_stream_decoder_test : public ::testing::Test {
protected:
    void SetUp() override { CDI_REQUIRE_TOOL("qemu-img"); }
    const fs::path& d() const { return dir_.path(); }

    // A raw of 9 MiB + 12345 bytes (not a whole grain, nor a whole sector): random data at the start,
    // a repeated pattern, a zero run, an all-zero grain written as data, and data in the cut last grain.
    fs::path raw() {
        const auto p = d() / "src.raw";
        if (fs::exists(p)) return p;
        bytes b((9u << 20) + 12345);
        std::mt19937 rng(7);
        for (std::size_t i = 0; i < (1u << 20) + 777; ++i) b[i] = static_cast<std::byte>(rng());
        for (std::size_t i = 3u << 20; i < (5u << 20); ++i) b[i] = static_cast<std::byte>(i % 251);
        for (std::size_t i = b.size() - 3000; i < b.size(); ++i) b[i] = std::byte{0x5a};
        test::write_file(p, b.data(), b.size());
        return p;
    }
    fs::path stream_optimized(const fs::path& from, const std::string& name) {
        const auto p = d() / name;
        must_run("qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized " + h::q(from) + " " + h::q(p));
        return p;
    }
    fs::path write(const std::string& name, const bytes& b) {
        const auto p = d() / name;
        test::write_file(p, b.data(), b.size());
        return p;
    }
    // Decodes image and expects the target to equal the oracle's byte for byte.
    vmdk_stream_stats expect_same_as_qemu_img(const fs::path& image, std::size_t read_size = 65537) {
        auto r = decode_bytes(test::read_file_bytes(image), image.string() + ".raw", read_size);
        EXPECT_TRUE(r.stats.has_value()) << r.stats.error().message();
        if (!r.stats) return {};
        EXPECT_EQ(test::run_command("cmp " + h::q(qemu_raw(image)) + " " + h::q(r.target)).status, 0)
            << "decoded " << image << " (reads of " << read_size << ") differs from qemu-img convert -O raw";
        return *r.stats;
    }
    decoded decode_file(const fs::path& image) { return decode_bytes(test::read_file_bytes(image), image.string() + ".raw"); }
    // A VMware-layout image of 70 MiB (three directory slots) with grains in slots 0 and 2.
    vmware_stream vmware() {
        vmware_stream v;
        v.capacity = (70u << 20) / 512 + 5;
        bytes a = filled(65536, 0x11);
        a[100] = std::byte{0x99};
        v.grains.emplace_back(0, vmware_stream::zlib_pack(a));
        v.grains.emplace_back(128 * 7, vmware_stream::zlib_pack(filled(65536, 0x22)));
        v.grains.emplace_back(128 * 1100, vmware_stream::zlib_pack(filled(65536, 0)));
        v.grains.emplace_back((v.capacity / 128) * 128, vmware_stream::zlib_pack(filled(5 * 512, 0x33)));  // the cut last grain
        return v;
    }

private:
    test::temp_dir dir_;
};

TEST_F(vmdk_stream_decoder_test, decodes_qemu_img_stream_optimized_with_data_zero_runs_and_a_cut_last_grain) {
    const auto image = stream_optimized(raw(), "data.vmdk");
    auto dec_src = test::scripted_source(test::read_file_bytes(image));
    auto dec = vmdk_stream_decoder::start(dec_src);
    ASSERT_TRUE(dec.has_value()) << dec.error().message();
    EXPECT_EQ(dec->virtual_size(), ((9u << 20) + 12345 + 511) / 512 * 512) << "known at start, from the header";
    const auto s = expect_same_as_qemu_img(image);
    EXPECT_GT(s.grains, 40u);
    EXPECT_EQ(s.stream_bytes, fs::file_size(image));
}

TEST_F(vmdk_stream_decoder_test, decodes_qemu_img_stream_optimized_across_grain_directory_slots) {
    // 100 MiB: four directory slots of 32 MiB, data in the first, third and last, none in the second.
    const auto p = d() / "wide.raw";
    must_run("qemu-img create -q -f raw " + h::q(p) + " 100M");
    for (const char* seek : {"0", "70", "99"}) {
        must_run("head -c 700k /dev/urandom | dd of=" + h::q(p) + " bs=1M seek=" + seek + " conv=notrunc status=none");
    }
    const auto s = expect_same_as_qemu_img(stream_optimized(p, "wide.vmdk"), 8191);
    EXPECT_EQ(s.grains, 3u * 11u);
}

TEST_F(vmdk_stream_decoder_test, decodes_an_all_zero_disk_to_holes) {
    const auto zero = d() / "zero.raw";
    must_run("qemu-img create -q -f raw " + h::q(zero) + " 5M");
    const auto s = expect_same_as_qemu_img(stream_optimized(zero, "zero.vmdk"));
    EXPECT_EQ(s.grains, 0u);
}

TEST_F(vmdk_stream_decoder_test, decodes_the_same_in_one_byte_odd_and_whole_reads) {
    const auto image = stream_optimized(raw(), "reads.vmdk");
    for (std::size_t read_size : {std::size_t{1}, std::size_t{65537}, SIZE_MAX}) expect_same_as_qemu_img(image, read_size);
}

TEST_F(vmdk_stream_decoder_test, decodes_vmware_layout_with_tables_and_footer_at_the_end) {
    const auto s = expect_same_as_qemu_img(write("vmware.vmdk", vmware().build()), 4097);
    EXPECT_EQ(s.grains, 4u);
    EXPECT_EQ(s.zero_grains, 1u);
}

TEST_F(vmdk_stream_decoder_test, refuses_every_cut_of_a_qemu_img_stream_before_its_last_grain) {
    const auto image = stream_optimized(raw(), "cut.vmdk");
    const bytes full = test::read_file_bytes(image);
    const auto oracle = qemu_raw(image);
    // Where the last grain's sectors end: qemu-img leaves zeros after it, up to a grain.
    const auto good = decode_bytes(full, d() / "full.raw");
    ASSERT_TRUE(good.stats.has_value());
    std::uint64_t last_end = 0;
    for (std::uint64_t off = 128 * 512; off + 12 <= full.size();) {
        const std::uint64_t size = load_le32(full, off + 8);
        if (size == 0) break;
        off += (12 + size + 511) / 512 * 512;
        last_end = off;
    }
    ASSERT_GT(last_end, 0u);
    std::mt19937 rng(11);
    std::vector<std::uint64_t> cuts{0, 1, 511, 512, 513, 10751, 10752, 64 * 1024, 128 * 512 - 1, 128 * 512, 128 * 512 + 12, last_end - 1, last_end - 512};
    for (int i = 0; i < 60; ++i) cuts.push_back(rng() % last_end);
    for (std::uint64_t cut : cuts) {
        auto r = decode_bytes(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)), d() / "cut.raw", 4096);
        ASSERT_FALSE(r.stats.has_value()) << "cut at " << cut << " decoded";
        EXPECT_TRUE(r.stats.error().is(errc::truncated)) << "cut at " << cut << ": " << r.stats.error().message();
    }
    // Past the last grain only qemu-img's zero tail is cut: qemu reads the same image from it.
    for (std::uint64_t cut : {last_end, last_end + 512, std::uint64_t(full.size()) - 512}) {
        auto r = decode_bytes(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)), d() / "tail.raw");
        ASSERT_TRUE(r.stats.has_value()) << "cut at " << cut << ": " << r.stats.error().message();
        EXPECT_EQ(test::run_command("cmp " + h::q(oracle) + " " + h::q(r.target)).status, 0) << "cut at " << cut;
    }
}

TEST_F(vmdk_stream_decoder_test, refuses_every_cut_of_a_vmware_stream) {
    const bytes full = vmware().build();
    for (std::uint64_t cut = 0; cut < full.size(); cut += 509) {
        auto r = decode_bytes(bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)), d() / "cut.raw", 4096);
        ASSERT_FALSE(r.stats.has_value()) << "cut at " << cut << " decoded";
        EXPECT_TRUE(r.stats.error().is(errc::truncated)) << "cut at " << cut << ": " << r.stats.error().message();
    }
}

TEST_F(vmdk_stream_decoder_test, refuses_a_grain_inflating_past_its_size) {
    auto v = vmware();
    v.grains[1].second = vmware_stream::zlib_pack(filled(65536 + 1, 0x22));
    expect_refused(decode_file(write("long.vmdk", v.build())), errc::decompress, "more than 65536");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_grain_inflating_short_of_its_size) {
    auto v = vmware();
    v.grains[1].second = vmware_stream::zlib_pack(filled(65536 - 512, 0x22));
    expect_refused(decode_file(write("short.vmdk", v.build())), errc::decompress, "qemu reads 65536");
    v = vmware();
    v.grains[3].second = vmware_stream::zlib_pack(filled(4 * 512, 0x33));  // the last grain, short of the capacity
    expect_refused(decode_file(write("short_last.vmdk", v.build())), errc::decompress, "qemu reads 2560");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_zip_bomb_grain_within_one_grain_of_output) {
    auto v = vmware();
    v.grains[1].second = vmware_stream::zlib_pack(filled(64u << 20, 0));
    expect_refused(decode_file(write("bomb.vmdk", v.build())), errc::decompress, "more than 65536");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_grain_that_is_not_a_zlib_stream) {
    auto v = vmware();
    v.grains[1].second = filled(300, 0x42);
    expect_refused(decode_file(write("garbage.vmdk", v.build())), errc::decompress, "LBA 896");
}

TEST_F(vmdk_stream_decoder_test, refuses_an_lba_past_the_capacity_or_not_grain_aligned) {
    auto v = vmware();
    v.grains.emplace_back((v.capacity / 128 + 1) * 128, vmware_stream::zlib_pack(filled(65536, 1)));
    expect_refused(decode_file(write("past.vmdk", v.build())), errc::corrupt_image, "past the capacity");
    v = vmware();
    v.grains[1].first = 128 * 7 + 8;
    expect_refused(decode_file(write("unaligned.vmdk", v.build())), errc::corrupt_image, "not a multiple of the grain");
}

TEST_F(vmdk_stream_decoder_test, refuses_two_grains_at_one_lba) {
    auto v = vmware();
    v.grains.emplace_back(128 * 7, vmware_stream::zlib_pack(filled(65536, 0x23)));
    expect_refused(decode_file(write("twice.vmdk", v.build())), errc::corrupt_image, "named by no grain table");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_marker_lba_the_grain_table_does_not_map_there) {
    // qemu reads grain tables, not marker LBAs: a marker moved to another LBA would decode elsewhere.
    const auto image = stream_optimized(raw(), "moved.vmdk");
    ASSERT_EQ(h::peek_le(image, 128 * 512, 8), 0u);
    h::poke(image, 128 * 512, h::le(128 * 30, 8));
    expect_refused(decode_file(image), errc::corrupt_image, "grain table");
    auto v = vmware();
    v.drop_tables = true;
    expect_refused(decode_file(write("untabled.vmdk", v.build())), errc::corrupt_image, "named by no grain table");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_vmware_stream_without_footer_or_with_bytes_after_its_end) {
    auto v = vmware();
    v.no_footer = true;
    expect_refused(decode_file(write("nofooter.vmdk", v.build())), errc::corrupt_image, "without a footer");
    bytes b = vmware().build();
    b.resize(b.size() + 512);
    expect_refused(decode_file(write("trailing.vmdk", b)), errc::corrupt_image, "after its end-of-stream marker");
}

TEST_F(vmdk_stream_decoder_test, refuses_monolithic_sparse_as_not_stream_optimized) {
    const auto p = d() / "sparse.vmdk";
    must_run("qemu-img convert -q -f raw -O vmdk " + h::q(raw()) + " " + h::q(p));
    expect_refused(decode_file(p), errc::bad_image, "not streamOptimized");
    auto v = vmware();
    v.flags &= ~(1u << 17);  // claims streamOptimized, without markers
    expect_refused(decode_file(write("nomarkers.vmdk", v.build())), errc::bad_image, "markers");
    v = vmware();
    v.compress_algorithm = 2;
    expect_refused(decode_file(write("algo.vmdk", v.build())), errc::bad_image, "compressAlgorithm 2");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_descriptor_with_a_parent) {
    const auto image = stream_optimized(raw(), "parent.vmdk");
    const std::string desc = h::peek(image, 512, 200);
    const auto at = desc.find("parentCID=ffffffff");
    ASSERT_NE(at, std::string::npos);
    h::poke(image, 512 + at, "parentCID=1234abcd");
    expect_refused(decode_file(image), errc::unsafe_image, "parentCID 1234abcd");
    auto v = vmware();
    v.extra_descriptor = "parentFileNameHint=\"base.vmdk\"\n";
    expect_refused(decode_file(write("hint.vmdk", v.build())), errc::unsafe_image, "base.vmdk");
}

TEST_F(vmdk_stream_decoder_test, takes_what_qemu_opens_and_refuses_what_it_does_not_for_a_missing_cid) {
    // qemu finds "CID" inside "parentCID" too: without the CID line it still opens the image.
    auto v = vmware();
    v.cid.clear();
    expect_same_as_qemu_img(write("nocid.vmdk", v.build()));
    v.parent_cid.clear();
    const auto none = write("nocids.vmdk", v.build());
    EXPECT_NE(test::run_command("qemu-img convert -f vmdk -O raw " + h::q(none) + " " + h::q(d() / "nocids.oracle")).status, 0)
        << "qemu-img opened an image without CID and parentCID";
    expect_refused(decode_file(none), errc::corrupt_image, "no CID");
}

TEST_F(vmdk_stream_decoder_test, refuses_a_backup_directory_qemu_cannot_read_and_takes_one_it_skips) {
    // Found by fuzz_vmdk_stream_decoder (fuzz/regressions/vmdk_stream_decoder/unreadable-backup-directory):
    // qemu-img's images carry the redundant-tables flag; qemu reads the backup directory at open.
    const auto src = stream_optimized(raw(), "base.vmdk");
    auto b = test::read_file_bytes(src);
    ASSERT_NE(load_le32(b, 8) & 2u, 0u) << "qemu-img no longer sets the redundant grain table flag";
    auto with_rgd = [&](std::uint64_t sectors) {
        auto c = b;
        for (int i = 0; i < 8; ++i) c[48 + static_cast<std::size_t>(i)] = static_cast<std::byte>(sectors >> (8 * i));
        return c;
    };
    const auto bad = write("rgd-unreadable.vmdk", with_rgd(0x7fffffffffffffdeull));  // << 9 is negative as qemu's int64
    EXPECT_NE(test::run_command("qemu-img convert -f vmdk -O raw " + h::q(bad) + " " + h::q(d() / "bad.oracle")).status, 0)
        << "qemu-img read a backup grain directory at a negative offset";
    expect_refused(decode_file(bad), errc::corrupt_image, "redundant grain directory");
    // 2^55 sectors is byte 2^64, which wraps to 0: qemu skips the backup directory, and so do we.
    expect_same_as_qemu_img(write("rgd-wraps.vmdk", with_rgd(1ull << 55)));
    // Past the end of the file but readable: qemu reads zeros there and opens the image.
    expect_same_as_qemu_img(write("rgd-past-end.vmdk", with_rgd(1ull << 40)));
}

TEST_F(vmdk_stream_decoder_test, refuses_an_extent_naming_another_file_and_a_descriptor_file) {
    auto v = vmware();
    v.extra_descriptor = "RW 100 FLAT \"/etc/shadow\" 0\n";
    expect_refused(decode_file(write("flat.vmdk", v.build())), errc::unsafe_image, "FLAT");
    const std::string text = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 100 FLAT \"disk-flat.vmdk\" 0\n";
    expect_refused(decode_file(write("descriptor.vmdk", bytes(reinterpret_cast<const std::byte*>(text.data()),
                                                                    reinterpret_cast<const std::byte*>(text.data()) + text.size()))),
                   errc::bad_image, "no KDMV");
}

TEST_F(vmdk_stream_decoder_test, refuses_held_tables_past_the_limit_as_scratch_required) {
    const auto image = stream_optimized(raw(), "limit.vmdk");
    vmdk_stream_options opts;
    opts.table_limit = 64;  // 145 grains need 580 bytes of table
    expect_refused(decode_bytes(test::read_file_bytes(image), d() / "limit.raw", 65537, opts), errc::scratch_required, "over the limit");
}

}  // namespace
}  // namespace cdi
