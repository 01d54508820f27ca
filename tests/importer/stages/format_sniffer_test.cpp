#include "importer/stages/format_sniffer.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace cdi {
namespace {

using test::bytes;
using test::temp_dir;

// Makes an image with qemu-img create and returns its first sniff_window bytes (or all of it).
bytes qemu_image(const temp_dir& dir, const std::string& fmt, const std::string& opts = "",
                 const std::string& size = "4M") {
    auto path = dir / ("img." + fmt);
    test::must_run("qemu-img create -q -f " + fmt + (opts.empty() ? "" : " -o " + opts) + " '" + path.string() +
                   "' " + size);
    auto raw = test::read_file(path);
    bytes b(std::min(raw.size(), sniff_window));
    std::memcpy(b.data(), raw.data(), b.size());
    return b;
}

void put(bytes& b, std::size_t off, std::string_view s) {
    if (b.size() < off + s.size()) b.resize(off + s.size());
    std::memcpy(b.data() + off, s.data(), s.size());
}

sniff_result sniff(const bytes& b) { return sniff_format(b); }

void expect_only(const sniff_result& r, image_format f) {
    EXPECT_EQ(r.format, f) << to_string(r.format);
    ASSERT_EQ(r.matches.size(), 1u);
    EXPECT_EQ(r.matches[0], f);
}

TEST(format_sniffer, qcow2_v3_and_v2_from_qemu_img) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    expect_only(sniff(qemu_image(d, "qcow2")), image_format::qcow2);
    expect_only(sniff(qemu_image(d, "qcow2", "compat=0.10")), image_format::qcow2);
}

TEST(format_sniffer, qcow_version_1_is_qcow1) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    expect_only(sniff(qemu_image(d, "qcow")), image_format::qcow1);
}

TEST(format_sniffer, qcow_unknown_version_is_reported_qcow2_for_the_inspector_to_refuse) {
    bytes b(1024);
    put(b, 0, std::string_view("QFI\xfb\0\0\0\x04", 8));
    expect_only(sniff(b), image_format::qcow2);
    // Too short to hold the version: still qcow2, never raw.
    expect_only(sniff(bytes(b.begin(), b.begin() + 4)), image_format::qcow2);
}

TEST(format_sniffer, qed_from_qemu_img) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    expect_only(sniff(qemu_image(d, "qed")), image_format::qed);
}

TEST(format_sniffer, vmdk_sparse_stream_optimized_and_descriptor) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    expect_only(sniff(qemu_image(d, "vmdk")), image_format::vmdk);
    expect_only(sniff(qemu_image(d, "vmdk", "subformat=streamOptimized")), image_format::vmdk);
    // monolithicFlat: img.vmdk is the text descriptor naming img-flat.vmdk.
    expect_only(sniff(qemu_image(d, "vmdk", "subformat=monolithicFlat")), image_format::vmdk);
}

TEST(format_sniffer, vdi_vhd_vhdx_from_qemu_img) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    expect_only(sniff(qemu_image(d, "vdi")), image_format::vdi);
    expect_only(sniff(qemu_image(d, "vpc")), image_format::vhd);
    expect_only(sniff(qemu_image(d, "vhdx")), image_format::vhdx);
}

TEST(format_sniffer, fixed_vhd_is_raw_from_its_head) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    auto r = sniff(qemu_image(d, "vpc", "subformat=fixed"));
    EXPECT_EQ(r.format, image_format::raw);
    EXPECT_TRUE(r.matches.empty());
}

TEST(format_sniffer, compressed_qcow2_reports_the_compression) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    auto img = d / "a.qcow2";
    test::must_run("qemu-img create -q -f qcow2 '" + img.string() + "' 4M");
    const std::pair<const char*, image_format> tools[] = {
        {"gzip", image_format::gzip}, {"xz", image_format::xz}, {"zstd", image_format::zstd}};
    for (auto [tool, fmt] : tools) {
        if (!test::have_tool(tool)) continue;
        auto out = d / (std::string("a.") + tool);
        test::must_run(std::string(tool) + " -c < '" + img.string() + "' > '" + out.string() + "'");
        auto raw = test::read_file(out);
        bytes b(raw.size());
        std::memcpy(b.data(), raw.data(), raw.size());
        expect_only(sniff(b), fmt);
    }
}

TEST(format_sniffer, gzip_needs_the_deflate_method_byte) {
    bytes b(1024);
    put(b, 0, std::string_view("\x1f\x8b\x07", 3));
    EXPECT_EQ(sniff(b).format, image_format::raw);
    put(b, 0, std::string_view("\x1f\x8b\x08", 3));
    expect_only(sniff(b), image_format::gzip);
}

TEST(format_sniffer, tar_from_tar_cf) {
    CDI_REQUIRE_TOOL("tar");
    temp_dir d;
    test::must_run("cd '" + d.path().string() + "' && head -c 3000 /dev/urandom > f && tar cf a.tar f");
    auto raw = test::read_file(d / "a.tar");
    bytes b(raw.size());
    std::memcpy(b.data(), raw.data(), raw.size());
    expect_only(sniff(b), image_format::tar);
}

TEST(format_sniffer, iso_at_each_volume_descriptor) {
    for (std::size_t off : {0x8001u, 0x8801u, 0x9001u}) {
        bytes b(sniff_window);
        put(b, off, "CD001");
        expect_only(sniff(b), image_format::iso);
    }
    // One byte early is not a volume descriptor.
    bytes b(sniff_window);
    put(b, 0x8000, "CD001");
    EXPECT_EQ(sniff(b).format, image_format::raw);
}

TEST(format_sniffer, iso_with_hybrid_mbr_is_not_ambiguous) {
    bytes b(sniff_window);
    b[510] = std::byte{0x55};
    b[511] = std::byte{0xaa};
    put(b, 0x1be, std::string_view("\x80\x00\x01\x00\x17", 5));
    put(b, 0x8000, "\x01" "CD001");
    expect_only(sniff(b), image_format::iso);
}

TEST(format_sniffer, iso_qcow2_polyglot_matches_both) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    bytes b = qemu_image(d, "qcow2");
    b.resize(sniff_window);
    put(b, 0x8001, "CD001");
    auto r = sniff(b);
    ASSERT_EQ(r.matches.size(), 2u);
    EXPECT_EQ(r.matches[0], image_format::qcow2);
    EXPECT_EQ(r.matches[1], image_format::iso);
    EXPECT_EQ(r.format, image_format::qcow2);
}

// The rule "two magics = ambiguous" must not refuse real images: a disk container holding an ISO
// guest puts the guest's CD001 at its data offset + 0x8001, never at 0x8001.
TEST(format_sniffer, disk_image_holding_an_iso_guest_is_not_ambiguous) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    bytes guest = test::random_bytes(256 * 1024, 11);
    put(guest, 0x8000, "\x01" "CD001");
    test::write_file(d / "guest.iso", guest.data(), guest.size());
    const std::pair<const char*, image_format> cases[] = {{"qcow2", image_format::qcow2}, {"vmdk", image_format::vmdk},
                                                          {"vdi", image_format::vdi},     {"vpc", image_format::vhd},
                                                          {"vhdx", image_format::vhdx}};
    for (auto [fmt, want] : cases) {
        auto out = d / (std::string("guest.") + fmt);
        test::must_run("qemu-img convert -f raw -O " + std::string(fmt) + " '" + (d / "guest.iso").string() + "' '" +
                       out.string() + "'");
        auto raw = test::read_file(out);
        bytes b(std::min(raw.size(), sniff_window));
        std::memcpy(b.data(), raw.data(), b.size());
        expect_only(sniff(b), want);
    }
}

TEST(format_sniffer, vhd_cookie_with_tar_magic_matches_both) {
    bytes b(1024);
    put(b, 0, "conectix");
    put(b, 0x101, "ustar");
    auto r = sniff(b);
    ASSERT_EQ(r.matches.size(), 2u);
    EXPECT_EQ(r.matches[0], image_format::vhd);
    EXPECT_EQ(r.matches[1], image_format::tar);
}

TEST(format_sniffer, tar_with_cd001_matches_both) {
    bytes b(sniff_window);
    put(b, 0x101, "ustar");
    put(b, 0x8001, "CD001");
    EXPECT_EQ(sniff(b).matches.size(), 2u);
}

TEST(format_sniffer, vdi_with_gzip_magic_matches_both) {
    bytes b(1024);
    put(b, 0, std::string_view("\x1f\x8b\x08", 3));
    put(b, 0x40, std::string_view("\x7f\x10\xda\xbe", 4));
    EXPECT_EQ(sniff(b).matches, (std::vector{image_format::gzip, image_format::vdi}));
}

TEST(format_sniffer, magic_cut_off_by_the_end_of_head_does_not_match) {
    bytes b(sniff_window);
    put(b, 0x8001, "CD001");
    EXPECT_EQ(sniff(bytes(b.begin(), b.begin() + 0x8005)).format, image_format::raw);
    EXPECT_EQ(sniff(bytes(b.begin(), b.begin() + 0x8006)).format, image_format::iso);
    EXPECT_EQ(sniff(test::to_bytes("vhdxfil")).format, image_format::raw);
    EXPECT_EQ(sniff(bytes{}).format, image_format::raw);
}

TEST(format_sniffer, random_and_zero_data_are_raw) {
    for (const bytes& b : {test::random_bytes(sniff_window, 7), bytes(sniff_window)}) {
        auto r = sniff(b);
        EXPECT_EQ(r.format, image_format::raw);
        EXPECT_TRUE(r.matches.empty());
    }
}

}  // namespace
}  // namespace cdi
