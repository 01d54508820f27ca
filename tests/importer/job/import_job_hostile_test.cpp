// Hostile images (security.md sections C and D) through the whole import job: each is rejected with
// its class and a reason naming what was found, before qemu-img converts anything; nothing is left
// in the target and the scratch directory is empty afterwards. Every case runs twice: from a local
// file and gzip-wrapped, which forces the staging path through scratch.
#include "importer/job/import_job.hpp"

#include "support/hostile_images.hpp"
#include "support/import_job_fixture.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using test::must_run;

struct hostile_case {
    const char* name;
    std::function<fs::path(const fs::path& dir)> make;
    errc expected;
    const char* reason;  // a substring the message must contain
};

class import_job_hostile_test : public test::import_job_fixture {
protected:
    result<job_result> import(const fs::path& image, bool local, std::uint64_t requested = 256u << 20) {
        return import_job_fixture::import(image, spec(requested), local ? std::optional<fs::path>(image) : std::nullopt);
    }

    void expect_rejected(const hostile_case& c) {
        auto image = c.make(src_);
        auto wrapped = src_ / (std::string(c.name) + ".gz");
        must_run("gzip -1 -c '" + image.string() + "' > '" + wrapped.string() + "'");
        for (auto [input, local] : {std::pair{image, true}, std::pair{wrapped, false}}) {
            auto r = import(input, local);
            ASSERT_FALSE(r) << c.name << (local ? " (local)" : " (gzip, staged)") << " was imported";
            EXPECT_TRUE(r.error().is(c.expected)) << c.name << ": " << r.error().message();
            EXPECT_NE(r.error().message().find(c.reason), std::string::npos) << c.name << ": " << r.error().message();
            EXPECT_FALSE(fs::exists(data_ / "disk.img")) << c.name;
            EXPECT_TRUE(fs::is_empty(scratch_)) << c.name;
            EXPECT_FALSE(progress_.validated()) << c.name << ": an async upload would have had its 200";
        }
    }
};

TEST_F(import_job_hostile_test, a_backing_file_is_refused_even_when_it_exists) {
    expect_rejected({"backing", [](const fs::path& d) { return h::qcow2_backing(d, "/etc/passwd"); }, errc::unsafe_image,
                     "/etc/passwd"});
    expect_rejected({"relative-backing", [](const fs::path& d) { return h::qcow2_backing(d, "../../etc/passwd"); },
                     errc::unsafe_image, "backing file"});
}

TEST_F(import_job_hostile_test, a_json_backing_file_is_refused) {
    expect_rejected({"json", [](const fs::path& d) { return h::qcow2_json_backing(d); }, errc::unsafe_image, "json:"});
}

TEST_F(import_job_hostile_test, an_external_data_file_is_refused) {
    expect_rejected({"data-file", [](const fs::path& d) { return h::qcow2_data_file(d); }, errc::unsafe_image, "data file"});
}

TEST_F(import_job_hostile_test, unknown_feature_bits_other_versions_and_qed_are_refused) {
    expect_rejected({"bit5", [](const fs::path& d) { return h::qcow2_incompat(d, 1u << 5); }, errc::unsafe_image, "feature"});
    expect_rejected({"v4", [](const fs::path& d) { return h::qcow2_version(d, 4); }, errc::bad_image, "version 4"});
    expect_rejected({"qed", [](const fs::path& d) { return h::qed(d); }, errc::bad_image, "qed"});
}

TEST_F(import_job_hostile_test, poked_table_sizes_are_corrupt_images) {
    expect_rejected({"l1", [](const fs::path& d) { return h::qcow2_l1_size(d, 0x7fffffff); }, errc::corrupt_image, "L1"});
    expect_rejected({"reftable", [](const fs::path& d) { return h::qcow2_reftable_clusters(d, 0xffffff); },
                     errc::corrupt_image, "refcount"});
}

TEST_F(import_job_hostile_test, a_huge_virtual_size_fails_before_conversion_with_cdis_words) {
    expect_rejected({"huge", [](const fs::path& d) { return h::qcow2_virtual(d, "1P"); }, errc::too_large,
                     "is larger than the reported available storage"});
}

TEST_F(import_job_hostile_test, a_truncated_qcow2_never_converts) {
    auto image = h::qcow2_truncated(src_);
    auto r = import(image, true);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::corrupt_image)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(import_job_hostile_test, descriptor_vmdks_and_polyglots_are_refused) {
    expect_rejected({"vmdk-flat", [](const fs::path& d) { return h::vmdk_descriptor_only(d); }, errc::unsafe_image,
                     "/etc/shadow"});
    expect_rejected({"polyglot", [](const fs::path& d) { return h::iso_qcow2_polyglot(d); }, errc::ambiguous_format,
                     "iso"});
    expect_rejected({"vhd-diff", [](const fs::path& d) { return h::vhd_differencing(d); }, errc::unsafe_image, "parent"});
}

TEST_F(import_job_hostile_test, a_qcow2_header_inside_the_guest_data_stays_data_through_conversion_and_resize) {
    // C6: the converted raw output starts with another qcow2 header (with a json: backing file);
    // every later step must treat the output as raw (-f raw) and keep those bytes as they are.
    auto inner = h::qcow2_json_backing(src_);
    auto outer = src_ / "outer.qcow2";
    must_run("qemu-img convert -f raw -O qcow2 '" + inner.string() + "' '" + outer.string() + "'");
    auto r = import(outer, true, 64u << 20);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_GT(r->virtual_size, fs::file_size(inner));
    auto got = test::read_file(data_ / "disk.img");
    auto want = test::read_file(inner);
    ASSERT_GE(got.size(), want.size());
    EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()));
}

TEST_F(import_job_hostile_test, nested_and_damaged_compression_is_refused) {
    must_run("head -c 1M /dev/urandom > '" + (src_ / "disk.raw").string() + "'");
    const fs::path raw = src_ / "disk.raw";
    struct compression_case { const char* name; std::string recipe; errc expected; };
    for (const auto& c : {
             compression_case{"gz-in-gz", "gzip -c RAW | gzip -c", errc::decompress},
             compression_case{"three-layers", "gzip -c RAW | xz -0 -c | zstd -q -c", errc::decompress},
             compression_case{"trailing-garbage", "gzip -c RAW; echo garbage", errc::decompress},
             compression_case{"cut-xz", "xz -0 -c RAW | head -c 100000", errc::truncated},
         }) {
        auto input = src_ / (std::string(c.name) + ".bin");
        std::string recipe = c.recipe;
        for (std::size_t at; (at = recipe.find("RAW")) != std::string::npos;) recipe.replace(at, 3, "'" + raw.string() + "'");
        must_run("(" + recipe + ") > '" + input.string() + "'");
        auto r = import(input, false);
        ASSERT_FALSE(r) << c.name;
        EXPECT_TRUE(r.error().is(c.expected)) << c.name << ": " << r.error().message();
        EXPECT_FALSE(fs::exists(data_ / "disk.img")) << c.name;
    }
}

TEST_F(import_job_hostile_test, empty_and_tiny_images_are_errors_never_empty_disks) {
    test::write_file(src_ / "empty", "", 0);
    auto r = import(src_ / "empty", false);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::empty)) << r.error().message();
    std::string tiny(100, 'x');
    test::write_file(src_ / "tiny", tiny.data(), tiny.size());
    r = import(src_ / "tiny", false);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_small)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

}  // namespace
}  // namespace cdi
