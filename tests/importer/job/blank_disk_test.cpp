// importer/job/blank_disk: CDI's refusal of an archive blank disk is typed (blank_disk_refusal), so
// the importer writes CDI's words as they are without reading an error's text.
#include "importer/job/blank_disk.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(blank_disk_refusal, an_archive_blank_disk_is_refused_in_cdis_words) {
    job_spec spec;
    spec.content = content_type::archive;
    EXPECT_EQ(blank_disk_refusal(spec), "Cannot create empty disk with content type archive");
}

TEST(blank_disk_refusal, a_kubevirt_blank_disk_is_not_refused) {
    job_spec spec;
    spec.content = content_type::kubevirt;
    EXPECT_EQ(blank_disk_refusal(spec), std::nullopt);
}

TEST(create_blank_disk, refuses_an_archive_blank_disk_as_bad_request_before_making_anything) {
    test::temp_dir dir;
    job_spec spec;
    spec.content = content_type::archive;
    spec.data_dir = dir.path();
    spec.target = dir / "disk.img";
    qemu_img qemu;
    cancel_token cancel;
    auto r = create_blank_disk(spec, qemu, cancel);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_request));
    EXPECT_EQ(r.error().context, *blank_disk_refusal(spec));
    EXPECT_FALSE(std::filesystem::exists(dir / "disk.img"));
}

}  // namespace
}  // namespace cdi
