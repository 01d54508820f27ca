// The inspector against real images made by qemu-img at test time: every clean format is accepted
// with the virtual size qemu-img reports; polyglots, declared-format mismatches and sizes over the
// capacity are refused. The per-format hostile images (security.md C1-C10) are in
// <format>_header_test.cpp.
#include "tests/convert/inspect_expect.hpp"

#include <functional>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using test::expect_refused;
using test::inspect;

class image_inspector : public test::inspector_fixture {};

// ---- clean images: accepted, virtual size equal to qemu-img info's -------------------------------

struct clean_case {
    std::string name;
    image_format format;
    std::function<fs::path(const fs::path&)> make;
};

void PrintTo(const clean_case& c, std::ostream* os) { *os << c.name; }

class image_inspector_clean : public ::testing::TestWithParam<clean_case> {};

TEST_P(image_inspector_clean, accepts_with_qemu_virtual_size) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto& c = GetParam();
    const auto p = c.make(dir.path());
    const auto expected_size = h::qemu_virtual_size(p, qemu_format_name(c.format));
    auto r = inspect(p, c.format);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->format, c.format);
    EXPECT_EQ(r->virtual_size, expected_size);
}

std::vector<clean_case> clean_cases() {
    using F = image_format;
    auto create = [](std::string fmt, std::string size, std::string opts) {
        return [=](const fs::path& d) { return h::create(d, "img", fmt, size, opts); };
    };
    auto data = [](std::string fmt, std::string opts, std::string extra = "") {
        return [=](const fs::path& d) { return h::with_data(d, "img", fmt, opts, extra); };
    };
    return {
        {"qcow2_v2_compat_0_10", F::qcow2, create("qcow2", "64M", "compat=0.10")},
        {"qcow2_v3_compat_1_1", F::qcow2, create("qcow2", "64M", "compat=1.1")},
        {"qcow2_v2_with_data", F::qcow2, data("qcow2", "compat=0.10")},
        {"qcow2_v3_with_data", F::qcow2, data("qcow2", "compat=1.1")},
        {"qcow2_512_byte_clusters_with_data", F::qcow2, data("qcow2", "cluster_size=512")},
        {"qcow2_2m_clusters_with_data", F::qcow2, data("qcow2", "cluster_size=2M")},
        {"qcow2_zlib_compressed", F::qcow2, data("qcow2", "", "-c")},
        {"qcow2_zstd_compressed", F::qcow2, data("qcow2", "compression_type=zstd", "-c")},
        {"qcow2_extended_l2", F::qcow2, data("qcow2", "extended_l2=on,cluster_size=128k")},
        {"qcow2_with_internal_snapshots", F::qcow2, [](const fs::path& d) {
             const auto p = h::with_data(d, "img", "qcow2", "");
             test::must_run("qemu-img snapshot -c first " + h::q(p) + " && qemu-img snapshot -c second " + h::q(p));
             return p;
         }},
        {"qcow2_preallocated_metadata", F::qcow2, create("qcow2", "8M", "preallocation=metadata")},
        {"qcow2_odd_virtual_size", F::qcow2, create("qcow2", "3000001", "")},
        {"vmdk_monolithic_sparse", F::vmdk, create("vmdk", "5M", "subformat=monolithicSparse")},
        {"vmdk_monolithic_sparse_with_data", F::vmdk, data("vmdk", "subformat=monolithicSparse")},
        {"vmdk_stream_optimized_empty", F::vmdk, create("vmdk", "5M", "subformat=streamOptimized")},
        {"vmdk_stream_optimized_with_data", F::vmdk, data("vmdk", "subformat=streamOptimized")},
        {"vmdk_stream_optimized_footer_at_end", F::vmdk, [](const fs::path& d) { return h::vmdk_stream_optimized_footer(d); }},
        {"vdi_dynamic", F::vdi, create("vdi", "5M", "")},
        {"vdi_dynamic_with_data", F::vdi, data("vdi", "")},
        {"vdi_static", F::vdi, create("vdi", "3M", "static=on")},
        {"vpc_dynamic", F::vhd, create("vpc", "5M", "")},
        {"vpc_dynamic_with_data", F::vhd, data("vpc", "")},
        {"vpc_fixed", F::vhd, create("vpc", "3M", "subformat=fixed")},
        {"vpc_fixed_with_data", F::vhd, data("vpc", "subformat=fixed")},
        {"vpc_force_size_current_size", F::vhd, create("vpc", "3M", "force_size=on")},
        // qemu's size rule: CHS geometry for creator "qemu" even when current_size says otherwise,
        // current_size for Hyper-V ("win ").
        {"vpc_qemu_creator_uses_chs", F::vhd, [](const fs::path& d) {
             const auto p = h::create(d, "img", "vpc", "4M", "");
             h::vhd_patch_footer(p, 48, h::be(8u << 20, 8));
             return p;
         }},
        {"vpc_hyper_v_creator_uses_current_size", F::vhd, [](const fs::path& d) {
             const auto p = h::create(d, "img", "vpc", "4M", "");
             h::vhd_patch_footer(p, 28, "win ");
             h::vhd_patch_footer(p, 48, h::be(4u << 20, 8));
             return p;
         }},
        {"vhdx_dynamic", F::vhdx, create("vhdx", "5M", "")},
        {"vhdx_dynamic_with_data", F::vhdx, data("vhdx", "")},
        {"vhdx_fixed", F::vhdx, create("vhdx", "3M", "subformat=fixed")},
        {"vhdx_4k_logical_sectors_with_data", F::vhdx, data("vhdx", "log_size=1M,block_size=8M")},
        {"raw_random", F::raw, [](const fs::path& d) { return h::random_raw(d, "img", 3u << 20); }},
    };
}

INSTANTIATE_TEST_SUITE_P(formats, image_inspector_clean, ::testing::ValuesIn(clean_cases()),
                         [](const auto& param_info) { return param_info.param.name; });

// ---- polyglots, declared formats, capacity ------------------------------------------------------

TEST_F(image_inspector, refuses_iso_qcow2_polyglot_as_ambiguous) {
    const auto p = h::iso_qcow2_polyglot(d());
    expect_refused(inspect(p, image_format::qcow2), errc::ambiguous_format, "image matches both qcow2 and iso");
    expect_refused(inspect(p, image_format::raw), errc::ambiguous_format, "image matches both qcow2 and iso");
}

TEST_F(image_inspector, refuses_qcow2_declared_raw) {
    expect_refused(inspect(h::qcow2_v3(d()), image_format::raw), errc::format_mismatch, "declared raw but the file is a qcow2 image");
}

TEST_F(image_inspector, refuses_vmdk_descriptor_text_declared_raw) {
    expect_refused(inspect(h::vmdk_descriptor_only(d()), image_format::raw), errc::format_mismatch, "the file is a vmdk image");
}

TEST_F(image_inspector, refuses_fixed_vhd_declared_raw) {
    expect_refused(inspect(h::create(d(), "f.vhd", "vpc", "3M", "subformat=fixed"), image_format::raw), errc::format_mismatch,
                   "the file is a vhd image");
}

TEST_F(image_inspector, refuses_vmdk_declared_qcow2) {
    expect_refused(inspect(h::create(d(), "a.vmdk", "vmdk", "1M"), image_format::qcow2), errc::format_mismatch,
                   "declared qcow2 but the file is a vmdk image");
}

TEST_F(image_inspector, refuses_raw_declared_vhd) {
    expect_refused(inspect(h::random_raw(d(), "r.img", 1u << 20), image_format::vhd), errc::format_mismatch,
                   "declared vhd but the file has no vhd signature");
}

TEST_F(image_inspector, accepts_raw_with_iso_signature_as_raw) {
    const auto p = h::random_raw(d(), "r.iso", 1u << 20);
    h::poke(p, 0x8000, std::string("\x01" "CD001" "\x01", 7));
    auto r = inspect(p, image_format::raw);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->format, image_format::raw);
    EXPECT_EQ(r->virtual_size, 1u << 20);
}

TEST_F(image_inspector, refuses_compression_formats_as_bad_request) {
    expect_refused(inspect(h::random_raw(d(), "r", 4096), image_format::gzip), errc::bad_request, "gzip");
}

TEST_F(image_inspector, refuses_qed_whatever_is_declared) {
    const auto p = h::qed(d());
    expect_refused(inspect(p, image_format::qcow2), errc::unsafe_image, "QED image format is not allowed");
    expect_refused(inspect(p, image_format::raw), errc::unsafe_image, "QED");
}

TEST_F(image_inspector, refuses_petabyte_qcow2_with_cdi_message) {
    const auto p = h::qcow2_virtual(d(), "1P");
    expect_refused(inspect(p, image_format::qcow2, 64u << 20), errc::too_large,
                   "virtual image size 1125899906842624 is larger than the reported available storage 67108864. A larger PVC is required");
}

TEST_F(image_inspector, virtual_size_equal_to_capacity_is_accepted_and_one_more_byte_is_not) {
    const auto p = h::create(d(), "c.qcow2", "qcow2", "64M");
    EXPECT_TRUE(inspect(p, image_format::qcow2, 64u << 20).has_value());
    expect_refused(inspect(p, image_format::qcow2, (64u << 20) - 1), errc::too_large, "A larger PVC is required");
}

TEST_F(image_inspector, refuses_raw_larger_than_capacity) {
    expect_refused(inspect(h::random_raw(d(), "r", 1u << 20), image_format::raw, 4096), errc::too_large,
                   "virtual image size 1048576 is larger than the reported available storage 4096");
}

}  // namespace
}  // namespace cdi
