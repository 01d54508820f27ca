// vmdk_header through inspect_image: security.md C4 (descriptor files and descriptor lines),
// truncation and the streamOptimized footer.
#include "tests/convert/inspect_expect.hpp"

using cdi::errc;
using cdi::image_format;
using cdi::test::expect_refused;
using cdi::test::inspect;
namespace fs = std::filesystem;
namespace h = cdi::test::hostile;

namespace {

class vmdk_header : public cdi::test::inspector_fixture {};

TEST_F(vmdk_header, refuses_descriptor_only_vmdk_naming_the_extent) {
    expect_refused(inspect(h::vmdk_descriptor_only(d(), "/etc/shadow"), image_format::vmdk), errc::unsafe_image,
                   "vmdk extent \"/etc/shadow\" names a file");
}

TEST_F(vmdk_header, refuses_two_gb_max_extent_flat_with_relative_extent) {
    expect_refused(inspect(h::vmdk_descriptor_only(d(), "../x", "twoGbMaxExtentFlat"), image_format::vmdk), errc::unsafe_image,
                   "vmdk extent \"../x\" names a file");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_unknown_descriptor_line) {
    const auto p = h::vmdk_patched_descriptor(d(), "createType=\"monolithicSparse\"\n",
                                              "createType=\"monolithicSparse\"\nchangeTrackPath=\"/etc/shadow\"\n");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "vmdk descriptor line \"changeTrackPath=\\x22/etc/shadow\\x22\"");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_flat_create_type) {
    const auto p = h::vmdk_patched_descriptor(d(), "createType=\"monolithicSparse\"", "createType=\"monolithicFlat\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "vmdk createType \"monolithicFlat\" is not allowed");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_extent_path) {
    const auto p = h::vmdk_patched_descriptor(d(), "SPARSE \"patched.vmdk\"", "SPARSE \"/etc/shadow\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "vmdk extent \"/etc/shadow\" names a file");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_second_extent) {
    const auto p = h::vmdk_patched_descriptor(d(), "# The Disk Data Base", "RW 8 SPARSE \"other.vmdk\"\n# The Disk Data Base");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "2 extents");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_parent) {
    const auto p = h::vmdk_patched_descriptor(d(), "parentCID=ffffffff", "parentCID=12345678\nparentFileNameHint=\"/etc/x\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "vmdk parentCID 12345678 names a parent image");
}

TEST_F(vmdk_header, refuses_sparse_vmdk_with_parent_file_name_hint) {
    const auto p = h::vmdk_patched_descriptor(d(), "parentCID=ffffffff", "parentCID=ffffffff\nparentFileNameHint=\"base.vmdk\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "vmdk parentFileNameHint \"base.vmdk\" is not allowed");
}

TEST_F(vmdk_header, refuses_vmdk_cut_in_half) {
    const auto p = h::with_data(d(), "t.vmdk", "vmdk");
    fs::resize_file(p, fs::file_size(p) / 2);
    expect_refused(inspect(p, image_format::vmdk), errc::corrupt_image, "vmdk image is truncated");
}

TEST_F(vmdk_header, refuses_stream_optimized_vmdk_without_its_footer) {
    const auto p = h::vmdk_stream_optimized_footer(d());
    fs::resize_file(p, fs::file_size(p) - 1536);
    expect_refused(inspect(p, image_format::vmdk), errc::corrupt_image, "vmdk footer is missing");
}

TEST_F(vmdk_header, refuses_grain_offset_past_the_end_of_the_file) {
    const auto p = h::create(d(), "g.vmdk", "vmdk", "4M");
    h::poke(p, 64, h::le(1u << 20, 8));
    expect_refused(inspect(p, image_format::vmdk), errc::corrupt_image, "vmdk image is truncated: grains start at sector 1048576");
}

// ---- what qemu 7.2 reads beyond the embedded descriptor (block/vmdk.c vmdk_parent_open, vmdk_open_vmdk4) ----

TEST_F(vmdk_header, refuses_parent_file_name_hint_in_a_comment) {
    // qemu strstr()s the descriptor area: a comment line names the backing file as well as a key does.
    const auto p = h::vmdk_patched_descriptor(d(), "#DDB", "#parentFileNameHint=\"/etc/hostname\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "parentFileNameHint at byte ");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "(\"/etc/hostname\") names a parent image");
}

TEST_F(vmdk_header, refuses_parent_file_name_hint_in_a_ddb_value) {
    const auto p = h::vmdk_patched_descriptor(d(), "ddb.adapterType = \"ide\"", "ddb.note = \"parentFileNameHint=\"nbd://127.0.0.1:10809\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "(\"nbd://127.0.0.1:10809\") names a parent image");
}

TEST_F(vmdk_header, refuses_parent_file_name_hint_past_the_declared_descriptor_size) {
    // desc_size 1: our line check reads one sector, qemu reads 20 sectors up to the first NUL.
    const auto p = h::create(d(), "s.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    std::string text = h::peek(p, 512, 512);
    text.resize(text.find('\0'));
    text += "#" + std::string(511 - text.size() % 512, 'x') + "\nparentFileNameHint=\"/etc/hostname\"\n";
    h::poke(p, 512, text);
    h::poke(p, 36, h::le(1, 8));
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "(\"/etc/hostname\") names a parent image");
}

TEST_F(vmdk_header, refuses_parent_file_name_hint_at_0x200_when_the_header_has_no_descriptor) {
    const auto p = h::create(d(), "n.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    h::poke(p, 28, h::le(0, 8));  // desc_offset 0: no descriptor for us, qemu still reads 0x200
    h::poke(p, 512, "parentFileNameHint=\"/etc/hostname\"");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "parentFileNameHint at byte 512");
}

TEST_F(vmdk_header, refuses_parent_file_name_hint_at_0x200_when_the_descriptor_is_elsewhere) {
    const auto p = h::create(d(), "m.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    const std::string desc = h::peek(p, 512, 20 * 512);
    const std::uint64_t moved = fs::file_size(p) / 512;
    h::poke(p, moved * 512, desc);  // a clean copy of the descriptor at the end
    h::poke(p, 28, h::le(moved, 8));
    h::poke(p, 512, "parentFileNameHint=\"/etc/hostname\"\n");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "(\"/etc/hostname\") names a parent image");
}

TEST_F(vmdk_header, accepts_parent_file_name_hint_after_the_first_nul_where_qemu_stops) {
    const auto p = h::create(d(), "z.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    h::poke(p, 512 + 19 * 512, "parentFileNameHint=\"/etc/hostname\"");
    auto r = inspect(p, image_format::vmdk);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->virtual_size, 4u << 20);
}

TEST_F(vmdk_header, refuses_zero_capacity_that_qemu_reads_as_a_descriptor_file) {
    // qemu: capacity 0 and a desc_offset -> the descriptor is parsed as a descriptor file and its RW
    // extent lines opened, past desc_size and whatever the line check made of it.
    const auto p = h::vmdk_zero_capacity_naming(d(), "/etc/hostname");
    expect_refused(inspect(p, image_format::vmdk), errc::unsafe_image, "zero capacity and a descriptor at sector 1");
}

}  // namespace
