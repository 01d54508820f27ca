// The cdi-importer binary as the controller runs it: environment in, exit status and termination
// message out (contract section 1.4), byte for byte.
#include "support/importer_process.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <map>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class cdi_importer_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("qemu-img")) GTEST_SKIP() << "needs qemu-img";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        must_run("head -c 3M /dev/urandom > " + q(dir_ / "disk.raw") + " && truncate -s 8M " + q(dir_ / "disk.raw"));
    }

    test::importer_outcome run(std::map<std::string, std::string> env) { return test::run_importer(dir_.path(), std::move(env)); }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
};

TEST_F(cdi_importer_test, a_local_qcow2_converts_in_place_without_scratch) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", (dir_ / "disk.qcow2").string()}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_EQ(o.log.find("TransferScratch"), std::string::npos) << o.log;
}

TEST_F(cdi_importer_test, a_successful_import_exits_0_with_import_complete) {
    must_run("xz -T2 -c " + q(dir_ / "disk.raw") + " > " + q(dir_ / "disk.raw.xz"));
    auto o = run({{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", "file://" + (dir_ / "disk.raw.xz").string()}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_NE(o.log.find("Processing phase TransferDataFile"), std::string::npos) << o.log;
}

TEST_F(cdi_importer_test, a_compressed_vdi_without_scratch_exits_0_asking_for_scratch_space) {
    must_run("qemu-img convert -f raw -O vdi " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.vdi"));
    must_run("gzip " + q(dir_ / "disk.vdi"));
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", (dir_ / "disk.vdi.gz").string()}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":true,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(cdi_importer_test, an_unsafe_image_exits_1_with_unable_to_and_its_class) {
    must_run("qemu-img create -q -f qcow2 -b " + q(dir_ / "disk.raw") + " -F raw " + q(dir_ / "backed.qcow2"));
    auto o = run({{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", (dir_ / "backed.qcow2").string()}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: E_UNSAFE_IMAGE: Unable to convert source data to target format: ", 0), 0u)
        << o.message;
    EXPECT_NE(o.message.find("backing file"), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(cdi_importer_test, unknown_sources_and_bad_settings_exit_1_naming_the_cause) {
    auto o = run({{"IMPORTER_SOURCE", "ftp"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.message, "Unknown data source: ftp");

    o = run({{"IMPORTER_SOURCE", "file"}, {"PREALLOCATION", "maybe"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find("PREALLOCATION \"maybe\" is not a boolean"), std::string::npos) << o.message;
}

TEST_F(cdi_importer_test, imageio_and_vddk_are_refused_as_unsupported_naming_the_source) {
    for (const std::string source : {"imageio", "vddk"}) {
        auto o = run({{"IMPORTER_SOURCE", source}, {"IMPORTER_ENDPOINT", "https://engine.example/ovirt-engine/api"}});
        EXPECT_EQ(o.status, 1) << o.log;
        EXPECT_EQ(o.message.rfind("Unable to connect to " + source + " data source: E_UNSUPPORTED_SOURCE: this importer image does not import from " + source, 0), 0u)
            << o.message;
        EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    }
}

TEST_F(cdi_importer_test, a_blank_disk_is_created_with_the_usable_size) {
    auto o = run({{"IMPORTER_SOURCE", "none"}, {"IMPORTER_IMAGE_SIZE", "64Mi"}, {"FILESYSTEM_OVERHEAD", "0.055"}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(fs::file_size(data_ / "disk.img"), 60u << 20);  // RoundDown(ceil(64 MiB / 1.055), 1 MiB)
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);
}

TEST_F(cdi_importer_test, a_blank_disk_with_archive_content_is_refused_as_cdi_does) {
    auto o = run({{"IMPORTER_SOURCE", "none"}, {"IMPORTER_CONTENTTYPE", "archive"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.message, "Cannot create empty disk with content type archive");
}

TEST_F(cdi_importer_test, a_preallocated_blank_block_volume_is_zeroed) {
    CDI_REQUIRE_LOOP();
    test::loop_device dev(dir_ / "backing", 8 << 20);
    must_run("head -c 8M /dev/zero | tr '\\000' '\\252' > " + q(dev.path()));
    auto o = run({{"IMPORTER_SOURCE", "none"}, {"PREALLOCATION", "true"}, {"CDI_BLOCK_DEVICE", dev.path().string()}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"preallocationApplied":true,"message":"Import Complete"})");
    auto content = test::read_file(dev.path());
    EXPECT_TRUE(std::all_of(content.begin(), content.end(), [](char c) { return c == 0; }));
}

// Without preallocation too: a pooled device holds its last tenant's data, and a blank disk that
// showed it would leak it to the new VM (CDI leaves the device as it found it).
TEST_F(cdi_importer_test, a_blank_block_volume_without_preallocation_reads_as_zeros) {
    CDI_REQUIRE_LOOP();
    test::loop_device dev(dir_ / "backing", 8 << 20);
    must_run("head -c 8M /dev/zero | tr '\\000' '\\252' > " + q(dev.path()));
    auto o = run({{"IMPORTER_SOURCE", "none"}, {"CDI_BLOCK_DEVICE", dev.path().string()}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"preallocationApplied":false,"message":"Import Complete"})");
    auto content = test::read_file(dev.path());
    EXPECT_TRUE(std::all_of(content.begin(), content.end(), [](char c) { return c == 0; }));
}

TEST_F(cdi_importer_test, sigterm_during_a_conversion_cleans_scratch_and_the_target) {
    must_run("head -c 256M /dev/urandom > " + q(dir_ / "big.raw"));
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "big.raw") + " " + q(dir_ / "big.qcow2"));
    must_run("zstd -q -1 -T2 --rm " + q(dir_ / "big.qcow2"));  // compressed, with qemu-img as converter: staged first
    auto importer = test::start_importer(dir_.path(), {{"IMPORTER_SOURCE", "file"},
                                                       {"IMPORTER_ENDPOINT", (dir_ / "big.qcow2.zst").string()},
                                                       {"CDI_CONVERTER", "qemu-img"},
                                                       {"CDI_BLOCK_DEVICE", "/nonexistent"}});
    for (int i = 0; i < 100 && fs::is_empty(scratch_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    importer.signal(SIGTERM);
    EXPECT_EQ(importer.wait(std::chrono::seconds(60)), 1) << importer.log();
    EXPECT_TRUE(fs::is_empty(scratch_)) << importer.log();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    auto msg = test::read_file(dir_ / "termination-log");
    EXPECT_NE(std::string(msg.begin(), msg.end()).find("E_CANCELED"), std::string::npos);
}

}  // namespace
}  // namespace cdi
