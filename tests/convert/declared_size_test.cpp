// declared_virtual_size: the size a VDI or dynamic VHD declares in its head equals what
// `qemu-img info` reports for the same file (so the import job's early refusal never refuses an
// image qemu would read smaller), and headers the inspector would not size give no answer.
#include "convert/declared_size.hpp"

#include "tests/convert/inspect_expect.hpp"

#include <fstream>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace h = cdi::test::hostile;
using cdi::image_format;

std::vector<std::byte> head_of(const fs::path& p, std::size_t n = 64 * 1024) {
    std::vector<std::byte> b(n);
    std::ifstream in(p, std::ios::binary);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
    b.resize(static_cast<std::size_t>(in.gcount()));
    return b;
}

class declared_size : public cdi::test::inspector_fixture {};

TEST_F(declared_size, a_vdi_declares_the_size_qemu_reports) {
    for (const char* size : {"1M", "4097K", "3G"}) {
        const auto p = h::create(d(), std::string("d") + size + ".vdi", "vdi", size);
        EXPECT_EQ(cdi::declared_virtual_size(image_format::vdi, head_of(p)), h::qemu_virtual_size(p, "vdi")) << size;
    }
}

TEST_F(declared_size, a_dynamic_vhd_declares_the_size_qemu_reports_by_geometry_or_exact_size) {
    // qemu-img writes CHS geometry ("qemu"), which rounds the size; force_size=on writes "qem2"
    // and the exact current_size. Both must come out as qemu reads them back.
    int n = 0;
    for (const char* opts : {"subformat=dynamic", "subformat=dynamic,force_size=on"}) {
        for (const char* size : {"10M", "1000M", "7G"}) {
            const auto p = h::create(d(), "d" + std::to_string(++n) + ".vhd", "vpc", size, opts);
            EXPECT_EQ(cdi::declared_virtual_size(image_format::vhd, head_of(p)), h::qemu_virtual_size(p, "vpc")) << size << " " << opts;
        }
    }
}

TEST_F(declared_size, headers_the_inspector_would_not_size_give_no_answer) {
    const auto vdi = h::create(d(), "v.vdi", "vdi", "4M");
    h::poke_le32(vdi, 0x44, 0x00010000);  // version 1.0
    EXPECT_EQ(cdi::declared_virtual_size(image_format::vdi, head_of(vdi)), std::nullopt);

    const auto vhd = h::create(d(), "v.vhd", "vpc", "4M", "subformat=dynamic");
    h::poke(vhd, 48, "\x01");  // current_size changed, checksum now wrong
    EXPECT_EQ(cdi::declared_virtual_size(image_format::vhd, head_of(vhd)), std::nullopt);

    EXPECT_EQ(cdi::declared_virtual_size(image_format::vdi, head_of(vdi, 0x100)), std::nullopt) << "head too short";
    EXPECT_EQ(cdi::declared_virtual_size(image_format::qcow2, head_of(vdi)), std::nullopt) << "not a format sized here";
}

}  // namespace
