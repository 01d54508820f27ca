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

}  // namespace
