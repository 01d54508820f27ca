// Issue 18 end to end: an OVA or a tar of one disk given to cdi-importer (file://, HTTP from nginx)
// or uploaded to cdi-uploadserver (sync and async) with content type kubevirt lands as the disk
// inside, byte for byte `qemu-img convert` of the disk alone; the refusals carry their class and
// leave no target (the upload server stays ready and takes the good OVA next).
#include "support/importer_process.hpp"
#include "support/nginx.hpp"
#include "support/tar_disk_fixtures.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::q;

class tar_disk_import_test : public test::upload_server_fixture {
protected:
    void SetUp() override {
        upload_server_fixture::SetUp();
        if (IsSkipped()) return;
        disks_ = test::make_tar_disks(dir_ / "in");
    }

    test::importer_outcome import(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("OWNER_UID", "uid-18");
        return test::run_importer(dir_.path(), std::move(env));
    }
    test::importer_outcome import_file(const char* name) {
        return import({{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", "file://" + (disks_ / name).string()}});
    }

    test::tar_disks disks_;
};

TEST_F(tar_disk_import_test, importer_from_a_file_url_imports_the_ova_disk_and_the_single_file_of_a_tar) {
    auto o = import_file("v1.ova");
    ASSERT_EQ(o.status, 0) << o.message << o.log;
    EXPECT_NE(o.message.find("Import Complete"), std::string::npos) << o.message;
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk) << "not the VMDK's raw conversion";
    EXPECT_TRUE(fs::is_empty(scratch_));
    fs::remove(data_ / "disk.img");

    o = import_file("one-file.tar");
    ASSERT_EQ(o.status, 0) << o.message << o.log;
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.raw);
}

TEST_F(tar_disk_import_test, importer_from_a_file_url_refuses_a_tar_of_two_files_and_a_two_disk_ova) {
    auto o = import_file("two-files.tar");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_BAD_IMAGE"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("content type archive"), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));

    o = import_file("two-disks.ova");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_BAD_IMAGE"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("\"disk2.vmdk\""), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(tar_disk_import_test, importer_over_http_imports_a_gzip_disk_ova_and_refuses_a_missing_disk) {
    if (!test::have_tool("nginx")) GTEST_SKIP() << "needs nginx";
    auto web = test::nginx_server::start({.root = disks_.dir});
    auto o = import({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/gzip.ova")}});
    ASSERT_EQ(o.status, 0) << o.message << o.log;
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk) << "not the VMDK's raw conversion";
    fs::remove(data_ / "disk.img");

    o = import({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/missing.ova")}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_BAD_IMAGE"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("\"absent.vmdk\""), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(tar_disk_import_test, a_sync_upload_refuses_an_xml_bomb_then_imports_an_ovf_2_ova) {
    auto& s = start();
    EXPECT_EQ(upload(disks_ / "bomb.ova"), "400") << s.log();
    EXPECT_NE(body().find("E_UNSAFE_IMAGE"), std::string::npos) << body();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(upload(disks_ / "v2.ova"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk) << "not the VMDK's raw conversion";
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(tar_disk_import_test, an_async_upload_refuses_a_tar_of_two_files_then_imports_a_tar_of_one) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(disks_ / "two-files.tar"), "/v1beta1/upload-async"), "400") << s.log();
    EXPECT_NE(body().find("E_BAD_IMAGE"), std::string::npos) << body();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(curl("--data-binary @" + q(disks_ / "one-file.tar"), "/v1beta1/upload-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.raw);
}

TEST_F(tar_disk_import_test, an_async_upload_of_an_ova_imports_its_disk) {
    auto& s = start();
    EXPECT_EQ(curl("--data-binary @" + q(disks_ / "v1.ova"), "/v1beta1/upload-async"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_TRUE(test::read_file(data_ / "disk.img") == disks_.expected_vmdk) << "not the VMDK's raw conversion";
}

}  // namespace
}  // namespace cdi
