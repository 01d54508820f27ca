// vdi_header through inspect_image: differencing images and truncation.
#include "tests/convert/inspect_expect.hpp"

using cdi::errc;
using cdi::image_format;
using cdi::test::expect_refused;
using cdi::test::inspect;
namespace fs = std::filesystem;
namespace h = cdi::test::hostile;

namespace {

class vdi_header : public cdi::test::inspector_fixture {};

TEST_F(vdi_header, refuses_vdi_cut_in_half) {
    const auto p = h::with_data(d(), "t.vdi", "vdi");
    fs::resize_file(p, fs::file_size(p) / 2);
    expect_refused(inspect(p, image_format::vdi), errc::corrupt_image, "vdi image is truncated");
}

TEST_F(vdi_header, refuses_vdi_differencing_image) {
    const auto p = h::create(d(), "diff.vdi", "vdi", "4M");
    h::poke_le32(p, 0x4c, 4);
    expect_refused(inspect(p, image_format::vdi), errc::unsafe_image, "vdi differencing image (has a parent) is not allowed");
}

TEST_F(vdi_header, refuses_vdi_with_parent_uuid) {
    const auto p = h::create(d(), "par.vdi", "vdi", "4M");
    h::poke(p, 0x1b8, "0123456789abcdef");
    expect_refused(inspect(p, image_format::vdi), errc::unsafe_image, "vdi differencing image");
}

}  // namespace
