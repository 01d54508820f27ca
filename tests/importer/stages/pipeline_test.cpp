#include "importer/stages/pipeline.hpp"

#include "importer/stages/file_source.hpp"
#include "importer/stages/zstd_source.hpp"
#include "importer/stages/memory_source.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace cdi {
namespace {

using test::bytes;
using test::scripted_source;
using test::temp_dir;

bytes qemu_image(const temp_dir& dir, const std::string& fmt, const std::string& opts = "") {
    auto path = dir / ("img." + fmt);
    test::must_run("qemu-img create -q -f " + fmt + (opts.empty() ? "" : " -o " + opts) + " '" + path.string() +
                   "' 4M");
    return test::read_file_bytes(path);
}

// Compresses data with each tool in turn (innermost first): {"gzip", "xz"} gives xz(gzip(data)).
bytes compress(const temp_dir& dir, const bytes& data, const std::vector<std::string>& tools) {
    auto path = dir / "layer";
    test::write_file(path, data.data(), data.size());
    for (const auto& tool : tools) {
        test::must_run(tool + " -c < '" + path.string() + "' > '" + path.string() + ".next' && mv '" + path.string() +
                       ".next' '" + path.string() + "'");
    }
    return test::read_file_bytes(path);
}

bytes iso_like(std::size_t size = 256 * 1024) {
    bytes b = test::random_bytes(size, 9);
    std::memcpy(b.data() + 0x8000, "\x01" "CD001", 6);
    return b;
}

result<pipeline> build(bytes data, std::size_t chunk = SIZE_MAX, const pipeline_options& opts = {}) {
    return build_pipeline(std::make_unique<scripted_source>(std::move(data), chunk), opts);
}

// Drains the pipeline and checks that its head is the first bytes of what it delivers.
bytes drain_checked(pipeline& p) {
    auto out = test::drain(*p.top, 4096);
    EXPECT_TRUE(out) << out.error().message();
    if (!out) return {};
    EXPECT_EQ(p.head.size(), std::min(out->size(), sniff_window));
    EXPECT_TRUE(std::equal(p.head.begin(), p.head.end(), out->begin()));
    return *out;
}

void expect_error(const result<pipeline>& r, errc code, const std::string& message) {
    ASSERT_FALSE(r) << "expected " << message;
    EXPECT_TRUE(r.error().is(code)) << r.error().message();
    EXPECT_EQ(r.error().message(), message);
}

TEST(build_pipeline, raw_passes_through_byte_exact) {
    const bytes data = test::random_bytes(200 * 1024);
    auto p = build(data, 1000);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->format, image_format::raw);
    EXPECT_TRUE(p->layers.empty());
    EXPECT_EQ(p->top->size_hint(), data.size());
    EXPECT_EQ(drain_checked(*p), data);
}

TEST(build_pipeline, disk_formats_stop_the_unwrapping) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    const std::pair<const char*, image_format> cases[] = {
        {"qcow2", image_format::qcow2}, {"vmdk", image_format::vmdk}, {"vdi", image_format::vdi},
        {"vpc", image_format::vhd},     {"vhdx", image_format::vhdx}, {"qed", image_format::qed},
        {"qcow", image_format::qcow1}};
    for (auto [fmt, want] : cases) {
        const bytes img = qemu_image(d, fmt);
        test::write_file(d / "origin", img.data(), img.size());
        auto origin = file_source::open(d / "origin");
        ASSERT_TRUE(origin);
        auto p = build_pipeline(std::move(*origin));
        ASSERT_TRUE(p) << fmt << ": " << p.error().message();
        EXPECT_EQ(p->format, want) << fmt;
        EXPECT_TRUE(p->layers.empty());
        EXPECT_EQ(drain_checked(*p), img) << fmt;
    }
}

TEST(build_pipeline, iso_and_tar_are_reported) {
    auto iso = build(iso_like());
    ASSERT_TRUE(iso);
    EXPECT_EQ(iso->format, image_format::iso);
    CDI_REQUIRE_TOOL("tar");
    temp_dir d;
    test::must_run("cd '" + d.path().string() + "' && head -c 3000 /dev/urandom > f && tar cf a.tar f");
    auto tar = build(test::read_file_bytes(d / "a.tar"));
    ASSERT_TRUE(tar);
    EXPECT_EQ(tar->format, image_format::tar);
}

TEST(build_pipeline, empty_stream_is_e_empty) {
    expect_error(build_pipeline(std::make_unique<memory_source>(std::span<const std::byte>{})), errc::empty,
                 "E_EMPTY: no data");
}

TEST(build_pipeline, stream_under_one_sector_is_too_small) {
    expect_error(build(test::random_bytes(100)), errc::too_small,
                 "E_TOO_SMALL: image is 100 bytes, smaller than one 512-byte sector");
    expect_error(build(test::random_bytes(511), 1), errc::too_small,
                 "E_TOO_SMALL: image is 511 bytes, smaller than one 512-byte sector");
    auto p = build(test::random_bytes(512), 1);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->top->size_hint(), 512u);
    EXPECT_EQ(drain_checked(*p).size(), 512u);
}

TEST(build_pipeline, iso_qcow2_polyglot_is_ambiguous) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    bytes img = qemu_image(d, "qcow2");
    std::memcpy(img.data() + 0x8000, "\x01" "CD001", 6);
    expect_error(build(img), errc::ambiguous_format, "E_AMBIGUOUS_FORMAT: image matches both qcow2 and iso");
}

TEST(build_pipeline, three_way_match_names_all) {
    bytes b = iso_like();
    std::memcpy(b.data(), "conectix", 8);
    std::memcpy(b.data() + 0x101, "ustar", 5);
    expect_error(build(b), errc::ambiguous_format, "E_AMBIGUOUS_FORMAT: image matches vhd, tar and iso");
}

TEST(build_pipeline, origin_fault_during_the_peek_propagates) {
    ASSERT_TRUE(build(test::random_bytes(200 * 1024), 1000));  // control: without a fault it builds
    for (std::size_t n : {1u, 2u, 30u}) {
        expect_error(build_pipeline(std::make_unique<scripted_source>(test::random_bytes(200 * 1024), 1000, n)),
                     errc::io, "E_IO: injected read fault");
    }
}

TEST(build_pipeline, origin_fault_after_the_peek_reaches_the_reader) {
    // 1000-byte reads: the 64 KiB peek takes 66 reads, so read 100 fails while the caller drains.
    auto p = build_pipeline(std::make_unique<scripted_source>(test::random_bytes(200 * 1024), 1000, 100));
    ASSERT_TRUE(p) << p.error().message();
    auto out = test::drain(*p->top);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::io));
}

// --- compressed inputs (real gzip, xz, zstd tools) ---

TEST(build_pipeline, gzip_of_raw_is_unwrapped_byte_exact_with_both_backends) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    const bytes data = test::random_bytes(300 * 1024, 5);
    const bytes gz = compress(d, data, {"gzip"});
    for (auto backend : {gzip_backend::isal, gzip_backend::zlib}) {
        pipeline_options opts;
        opts.gzip = backend;
        auto p = build(gz, 777, opts);
        ASSERT_TRUE(p) << p.error().message();
        EXPECT_EQ(p->format, image_format::raw);
        EXPECT_EQ(p->layers, std::vector{image_format::gzip});
        EXPECT_EQ(drain_checked(*p), data);
    }
}

TEST(build_pipeline, xz_and_zstd_of_iso_are_unwrapped) {
    const bytes iso = iso_like();
    for (const char* tool : {"xz", "zstd"}) {
        if (!test::have_tool(tool)) GTEST_SKIP() << "needs " << tool;
        temp_dir d;
        auto p = build(compress(d, iso, {tool}));
        ASSERT_TRUE(p) << tool << ": " << p.error().message();
        EXPECT_EQ(p->format, image_format::iso);
        ASSERT_EQ(p->layers.size(), 1u);
        EXPECT_EQ(to_string(p->layers[0]), tool);
        EXPECT_EQ(drain_checked(*p), iso);
    }
}

TEST(build_pipeline, xz_of_gzip_of_qcow2_is_two_layers) {
    CDI_REQUIRE_TOOL("qemu-img");
    CDI_REQUIRE_TOOL("xz");
    temp_dir d;
    const bytes img = qemu_image(d, "qcow2");
    auto p = build(compress(d, img, {"gzip", "xz"}), 4096);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->format, image_format::qcow2);
    EXPECT_EQ(p->layers, (std::vector{image_format::xz, image_format::gzip}));
    EXPECT_EQ(drain_checked(*p), img);
}

TEST(build_pipeline, gzip_inside_gzip_is_refused) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    expect_error(build(compress(d, test::random_bytes(4096), {"gzip", "gzip"})), errc::decompress,
                 "E_DECOMPRESS: nested gzip inside gzip: refused");
}

TEST(build_pipeline, three_compression_layers_are_refused_unless_allowed) {
    CDI_REQUIRE_TOOL("qemu-img");
    CDI_REQUIRE_TOOL("xz");
    CDI_REQUIRE_TOOL("zstd");
    temp_dir d;
    const bytes img = qemu_image(d, "qcow2");
    const bytes packed = compress(d, img, {"gzip", "xz", "zstd"});
    expect_error(build(packed), errc::decompress,
                 "E_DECOMPRESS: compression nested 3 deep (gzip inside xz inside zstd): at most 2 layers are allowed");
    pipeline_options three;
    three.max_compression_layers = 3;
    auto p = build(packed, SIZE_MAX, three);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->format, image_format::qcow2);
    EXPECT_EQ(p->layers, (std::vector{image_format::zstd, image_format::xz, image_format::gzip}));
    EXPECT_EQ(drain_checked(*p), img);
}

TEST(build_pipeline, zero_layers_allowed_refuses_any_compression) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    pipeline_options none;
    none.max_compression_layers = 0;
    expect_error(build(compress(d, test::random_bytes(4096), {"gzip"}), SIZE_MAX, none), errc::decompress,
                 "E_DECOMPRESS: compression nested 1 deep (gzip): at most 0 layers are allowed");
}

TEST(build_pipeline, short_compressed_layer_is_fine_when_the_image_is_not) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    const bytes zeros(600);
    const bytes gz = compress(d, zeros, {"gzip"});
    ASSERT_LT(gz.size(), 512u);
    auto p = build(gz, 1);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->format, image_format::raw);
    EXPECT_EQ(drain_checked(*p), zeros);
}

TEST(build_pipeline, compressed_tiny_or_empty_image_is_refused) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    expect_error(build(compress(d, test::random_bytes(100), {"gzip"})), errc::too_small,
                 "E_TOO_SMALL: image is 100 bytes, smaller than one 512-byte sector");
    expect_error(build(compress(d, bytes{}, {"gzip"})), errc::empty,
                 "E_EMPTY: no data: the gzip stream decompresses to nothing");
}

TEST(build_pipeline, decompressor_error_during_the_peek_is_returned_unchanged) {
    CDI_REQUIRE_TOOL("gzip");
    temp_dir d;
    bytes gz = compress(d, test::random_bytes(10000), {"gzip"});
    gz.resize(gz.size() / 2);  // cut inside the member
    gzip_source direct(std::make_unique<scripted_source>(gz));
    auto want = test::drain(direct);
    ASSERT_FALSE(want);
    expect_error(build(gz), errc::truncated, want.error().message());

    bytes flipped = compress(d, test::random_bytes(10000), {"gzip"});
    flipped[flipped.size() - 6] ^= std::byte{0xff};  // inside the CRC32 trailer
    gzip_source direct2(std::make_unique<scripted_source>(flipped));
    auto want2 = test::drain(direct2);
    ASSERT_FALSE(want2);
    expect_error(build(flipped), errc::decompress, want2.error().message());
}

TEST(build_pipeline, ambiguity_inside_a_compressed_layer_is_refused) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    bytes img = qemu_image(d, "qcow2");
    std::memcpy(img.data() + 0x8000, "\x01" "CD001", 6);
    expect_error(build(compress(d, img, {"gzip"})), errc::ambiguous_format,
                 "E_AMBIGUOUS_FORMAT: image matches both qcow2 and iso");
}

}  // namespace
}  // namespace cdi

namespace cdi {
namespace {

TEST(build_pipeline, a_short_file_in_a_container_format_goes_on_to_the_inspector) {
    std::string text = "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n";
    std::vector<std::byte> data(text.size());
    std::memcpy(data.data(), text.data(), text.size());
    auto p = build_pipeline(std::make_unique<memory_source>(data));
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->format, image_format::vmdk);
}

}  // namespace
}  // namespace cdi
