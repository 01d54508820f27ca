// Content type kubevirt and a tar (issue 18): the disk inside is imported, never the tar's bytes.
// Each import equals `qemu-img convert` of the disk alone, byte for byte; each refusal has its class,
// a message naming the cause, and leaves no target and an empty scratch.
#include "importer/job/import_job.hpp"

#include "support/import_job_fixture.hpp"
#include "support/tar_disk_fixtures.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class import_job_tar_disk_test : public test::import_job_fixture {
protected:
    void SetUp() override {
        import_job_fixture::SetUp();
        if (IsSkipped()) return;
        disks_ = test::make_tar_disks(src_);
    }

    // Imports one of the built inputs (as a local file: qemu-img must not be handed the tar).
    result<job_result> import_named(const char* name) { return import(disks_ / name, spec(), disks_ / name); }

    void expect_refused(const char* name, errc cls, const std::string& words) {
        auto r = import_named(name);
        ASSERT_FALSE(r) << name << " was imported";
        EXPECT_TRUE(r.error().is(cls)) << name << ": " << r.error().message();
        EXPECT_NE(r.error().message().find(words), std::string::npos) << name << ": " << r.error().message();
        EXPECT_FALSE(fs::exists(data_ / "disk.img")) << name << " left a target";
        EXPECT_TRUE(fs::is_empty(scratch_)) << name << " left scratch";
    }

    test::tar_disks disks_;
};

TEST_F(import_job_tar_disk_test, an_ova_in_ovf_1_and_2_form_imports_its_streamoptimized_vmdk) {
    for (const char* name : {"v1.ova", "v2.ova"}) {
        auto r = import_named(name);
        ASSERT_TRUE(r) << name << ": " << r.error().message();
        EXPECT_EQ(r->format, image_format::vmdk) << name;
        EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk) << name << ": differs from qemu-img's conversion";
        EXPECT_TRUE(fs::is_empty(scratch_));
        fs::remove(data_ / "disk.img");
    }
}

TEST_F(import_job_tar_disk_test, an_ova_whose_disk_is_gzip_compressed_imports_the_unwrapped_vmdk) {
    auto r = import_named("gzip.ova");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk);
}

TEST_F(import_job_tar_disk_test, a_compressed_ova_imports_too) {
    must_run("xz -k -T1 " + q(disks_ / "v1.ova"));
    auto r = import(disks_ / "v1.ova.xz", spec());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk);
}

TEST_F(import_job_tar_disk_test, the_qemu_img_converter_stages_the_ova_disk_alone) {
    job_spec s = spec();
    s.convert_with = converter::qemu_img;
    auto r = import(disks_ / "v1.ova", s, disks_ / "v1.ova");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk);
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(import_job_tar_disk_test, a_tar_of_one_raw_file_imports_that_file) {
    auto r = import_named("one-file.tar");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->format, image_format::raw);
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.raw);
}

TEST_F(import_job_tar_disk_test, an_ova_with_its_disk_before_its_descriptor_imports_when_the_descriptor_agrees) {
    auto r = import_named("disk-first.ova");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk);
}

TEST_F(import_job_tar_disk_test, an_ova_of_two_disks_is_refused_naming_both_with_their_sizes) {
    expect_refused("two-disks.ova", errc::bad_image, "the OVA holds 2 disks: \"disk1.vmdk\" (file ");
    auto r = import_named("two-disks.ova");
    EXPECT_NE(r.error().message().find("\"disk2.vmdk\""), std::string::npos) << r.error().message();
}

TEST_F(import_job_tar_disk_test, an_ova_missing_the_disk_its_descriptor_names_is_refused) {
    expect_refused("missing.ova", errc::bad_image, "names the disk file \"absent.vmdk\", which the OVA does not hold");
}

TEST_F(import_job_tar_disk_test, an_ova_disk_of_another_size_than_its_descriptor_says_is_refused) {
    expect_refused("wrong-size.ova", errc::bad_image, "its OVF descriptor says");
}

TEST_F(import_job_tar_disk_test, a_disk_declared_gzip_that_is_not_gzip_is_refused) {
    expect_refused("gzip-undeclared.ova", errc::format_mismatch, "declared gzip-compressed");
}

TEST_F(import_job_tar_disk_test, an_xml_bomb_in_the_descriptor_is_refused_unexpanded) {
    expect_refused("bomb.ova", errc::unsafe_image, "DOCTYPE");
}

TEST_F(import_job_tar_disk_test, a_disk_first_ova_whose_descriptor_names_another_disk_is_refused) {
    expect_refused("disk-first-other.ova", errc::bad_image, "names \"other.vmdk\"");
}

TEST_F(import_job_tar_disk_test, a_tar_of_two_files_is_refused_pointing_at_content_type_archive) {
    expect_refused("two-files.tar", errc::bad_image, "the tar holds 2 files (\"disk.img\", \"notes.txt\")");
    auto r = import_named("two-files.tar");
    EXPECT_NE(r.error().message().find("content type archive"), std::string::npos) << r.error().message();
}

TEST_F(import_job_tar_disk_test, a_link_entry_is_refused) {
    expect_refused("symlink.tar", errc::archive_unsafe_entry, "\"disk.img\" is a symlink");
}

TEST_F(import_job_tar_disk_test, content_type_archive_still_unpacks_a_tar) {
    job_spec s = spec();
    s.content = content_type::archive;
    auto r = import(disks_ / "two-files.tar", s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(test::read_file(data_ / "notes.txt").size(), 6u);
}

}  // namespace
}  // namespace cdi
