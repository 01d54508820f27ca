// vhdx_header through inspect_image: HasParent, parent locators, truncation.
#include "tests/convert/inspect_expect.hpp"

using cdi::errc;
using cdi::image_format;
using cdi::test::expect_refused;
using cdi::test::inspect;
namespace fs = std::filesystem;
namespace h = cdi::test::hostile;

namespace {

class vhdx_header : public cdi::test::inspector_fixture {};

TEST_F(vhdx_header, refuses_vhdx_cut_in_half) {
    const auto p = h::with_data(d(), "t.vhdx", "vhdx");
    fs::resize_file(p, fs::file_size(p) / 2);
    expect_refused(inspect(p, image_format::vhdx), errc::corrupt_image, "vhdx image is truncated");
}

TEST_F(vhdx_header, refuses_vhdx_has_parent) {
    expect_refused(inspect(h::vhdx_has_parent(d()), image_format::vhdx), errc::unsafe_image,
                   "vhdx differencing disk (HasParent) is not allowed");
}

TEST_F(vhdx_header, refuses_vhdx_parent_locator) {
    expect_refused(inspect(h::vhdx_parent_locator(d()), image_format::vhdx), errc::unsafe_image, "vhdx parent locator");
}

TEST_F(vhdx_header, refuses_block_overlapping_the_headers) {
    const auto p = h::with_data(d(), "t.vhdx", "vhdx");
    const std::uint64_t rt = 192u << 10;
    std::uint64_t bat = 0;
    for (std::uint64_t i = 0; i < h::peek_le(p, rt + 8, 4); ++i) {
        if (h::peek(p, rt + 16 + i * 32, 16) != h::vhdx_metadata_region_guid) bat = h::peek_le(p, rt + 16 + i * 32 + 16, 8);
    }
    ASSERT_NE(bat, 0u);
    h::poke(p, bat, h::le(6, 8));  // block 0 fully present at offset 0
    expect_refused(inspect(p, image_format::vhdx), errc::corrupt_image, "vhdx block at 0 overlaps the region at 0");
}

TEST_F(vhdx_header, rounds_an_odd_virtual_size_down_to_sectors_like_qemu) {
    const auto p = h::create(d(), "odd.vhdx", "vhdx", "4M");
    const auto item = h::vhdx_find_metadata(p, h::vhdx_virtual_disk_size_guid);
    h::poke(p, item.value_at, h::le(4194000, 8));
    auto r = inspect(p, image_format::vhdx);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->virtual_size, h::qemu_virtual_size(p, "vhdx"));
    EXPECT_EQ(r->virtual_size, 4193792u);
}

}  // namespace
