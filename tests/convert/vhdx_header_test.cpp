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

}  // namespace
