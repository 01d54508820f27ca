// vhd_header through inspect_image: differencing disks, footer checksum, truncation.
#include "tests/convert/inspect_expect.hpp"

using cdi::errc;
using cdi::image_format;
using cdi::test::expect_refused;
using cdi::test::inspect;
namespace fs = std::filesystem;
namespace h = cdi::test::hostile;

namespace {

class vhd_header : public cdi::test::inspector_fixture {};

TEST_F(vhd_header, refuses_vhd_dynamic_cut_in_half) {
    const auto p = h::with_data(d(), "t.vhd", "vpc");
    fs::resize_file(p, fs::file_size(p) / 2);
    expect_refused(inspect(p, image_format::vhd), errc::corrupt_image, "vhd image is truncated");
}

TEST_F(vhd_header, refuses_vhd_fixed_cut_short) {
    const auto p = h::create(d(), "f.vhd", "vpc", "3M", "subformat=fixed");
    const std::string footer = h::peek(p, fs::file_size(p) - 512, 512);
    fs::resize_file(p, 1u << 20);
    h::poke(p, (1u << 20) - 512, footer);
    expect_refused(inspect(p, image_format::vhd), errc::corrupt_image, "vhd image is truncated: fixed disk");
}

TEST_F(vhd_header, refuses_vhd_differencing_disk) {
    expect_refused(inspect(h::vhd_differencing(d()), image_format::vhd), errc::unsafe_image,
                   "vhd differencing disk (has a parent) is not allowed");
}

TEST_F(vhd_header, refuses_vhd_with_bad_footer_checksum) {
    const auto p = h::create(d(), "c.vhd", "vpc", "4M");
    h::poke(p, 64, std::string(4, '\0'));
    expect_refused(inspect(p, image_format::vhd), errc::corrupt_image, "vhd footer checksum is incorrect");
}

TEST_F(vhd_header, refuses_dynamic_disk_whose_only_footer_is_at_the_end) {
    const auto p = h::with_data(d(), "t.vhd", "vpc");
    h::poke(p, 0, "XXXXXXXX");
    expect_refused(inspect(p, image_format::vhd), errc::corrupt_image, "vhd footer at the end of the file is not a fixed disk's");
}

}  // namespace
