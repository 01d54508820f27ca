// Block volumes through the binaries (issue 19.4): when the pod was given a block volume
// (/dev/cdi-block-volume for the importer, DESTINATION for the upload server) and what is at that
// path is not a block device, the job is refused with E_BAD_REQUEST and the path is left exactly
// as it was: never unlinked and replaced by a regular file, never followed when it is a symlink.
#include "support/importer_process.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

// What sits at the block volume's path instead of a device.
enum class impostor { regular_file, symlink_to_file, dangling_symlink };

std::string impostor_name(const ::testing::TestParamInfo<impostor>& info) {
    switch (info.param) {
    case impostor::regular_file: return "regular_file";
    case impostor::symlink_to_file: return "symlink_to_file";
    case impostor::dangling_symlink: return "dangling_symlink";
    }
    return "unknown";
}

class block_volume_test : public test::upload_server_fixture, public ::testing::WithParamInterface<impostor> {
protected:
    // Puts the impostor at dev_ (a symlink pointing at victim_, which holds "keep me").
    void plant() {
        fs::create_directories(dev_.parent_path());
        test::write_file(victim_, "keep me", 7);
        switch (GetParam()) {
        case impostor::regular_file: test::write_file(dev_, "keep me", 7); break;
        case impostor::symlink_to_file: fs::create_symlink(victim_, dev_); break;
        case impostor::dangling_symlink: fs::create_symlink(dir_ / "nowhere", dev_); break;
        }
    }
    // The impostor and what it points to are exactly as planted.
    void expect_untouched() {
        EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
        EXPECT_EQ(test::slurp(victim_), "keep me");
        if (GetParam() == impostor::regular_file) {
            EXPECT_FALSE(fs::is_symlink(dev_));
            EXPECT_EQ(test::slurp(dev_), "keep me");
        } else {
            ASSERT_TRUE(fs::is_symlink(dev_)) << "the symlink was replaced";
            EXPECT_EQ(fs::read_symlink(dev_), GetParam() == impostor::symlink_to_file ? victim_ : dir_ / "nowhere");
        }
        EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    }

    fs::path dev_ = dir_ / "dev" / "cdi-block-volume";
    fs::path victim_ = dir_ / "victim";
};

TEST_P(block_volume_test, the_importer_refuses_a_block_volume_that_is_not_a_block_device) {
    plant();
    auto o = test::run_importer(dir_.path(), {{"IMPORTER_SOURCE", "file"},
                                              {"IMPORTER_ENDPOINT", (dir_ / "disk.raw").string()},
                                              {"IMPORTER_CONTENTTYPE", "kubevirt"},
                                              {"CDI_BLOCK_DEVICE", dev_.string()}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: ", 0), 0u) << o.message;
    EXPECT_NE(o.message.find("E_BAD_REQUEST"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("not a block device"), std::string::npos) << o.message;
    expect_untouched();
}

TEST_P(block_volume_test, a_blank_block_volume_that_is_not_a_block_device_is_refused) {
    plant();
    for (const char* prealloc : {"false", "true"}) {
        auto o = test::run_importer(dir_.path(), {{"IMPORTER_SOURCE", "none"},
                                                  {"PREALLOCATION", prealloc},
                                                  {"CDI_BLOCK_DEVICE", dev_.string()}});
        EXPECT_EQ(o.status, 1) << prealloc << o.log;
        EXPECT_NE(o.message.find("E_BAD_REQUEST"), std::string::npos) << o.message;
        expect_untouched();
    }
}

TEST_P(block_volume_test, the_upload_server_refuses_a_destination_that_is_not_a_block_device) {
    plant();
    // A small body: refused before any of it is read, a large one would meet a closed connection.
    must_run("head -c 64K /dev/urandom > " + q(dir_ / "small.raw"));
    auto& s = start({{"DESTINATION", dev_.string()}});
    EXPECT_EQ(upload(dir_ / "small.raw"), "400") << body() << s.log();
    EXPECT_NE(body().find("E_BAD_REQUEST"), std::string::npos) << body();
    EXPECT_NE(body().find("not a block device"), std::string::npos) << body();
    expect_untouched();
}

TEST_P(block_volume_test, a_clone_target_refuses_a_destination_that_is_not_a_block_device) {
    plant();
    const fs::path framed = dir_ / "disk.sz";
    must_run("head -c 64K /dev/urandom > " + q(dir_ / "small.raw"));  // small: see above
    must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_frame.py < " + q(dir_ / "small.raw") + " > " + q(framed));
    auto& s = start({{"DESTINATION", dev_.string()}});
    EXPECT_EQ(curl("--data-binary @" + q(framed) + " -H 'x-cdi-content-type: blockdevice-clone'", "/v1beta1/upload"), "400")
        << body() << s.log();
    EXPECT_NE(body().find("E_BAD_REQUEST"), std::string::npos) << body();
    expect_untouched();
}

INSTANTIATE_TEST_SUITE_P(impostors, block_volume_test,
                         ::testing::Values(impostor::regular_file, impostor::symlink_to_file, impostor::dangling_symlink),
                         impostor_name);

}  // namespace
}  // namespace cdi
