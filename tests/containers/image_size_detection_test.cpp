// cdi-image-size-detection as the PVC clone controller runs it (`-image-path /data/disk.img`): the
// virtual size in the termination message and on stdout, CDI's exit statuses on failure.
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::q;

class image_size_detection : public ::testing::Test {
protected:
    struct outcome {
        int status;
        std::string output;   // stdout and stderr
        std::string message;  // the termination message
    };
    outcome run(std::vector<std::string> args) {
        fs::remove(term_);
        args.insert(args.begin(), CDI_BINARY_DIR "/containers/tools/cdi-image-size-detection");
        test::child_process tool(args, {{"CDI_TERMINATION_LOG", term_.string()}}, dir_ / "tool.log");
        const int status = tool.wait(std::chrono::minutes(1));
        return {status, tool.log(), test::slurp(term_)};
    }
    outcome size_of(const fs::path& p) { return run({"-image-path", p.string()}); }

    test::temp_dir dir_;
    fs::path term_ = dir_ / "termination-log";
};

TEST_F(image_size_detection, a_raw_image_is_its_file_size) {
    test::must_run("head -c 1M /dev/urandom > " + q(dir_ / "disk.img") + " && truncate -s 3000000 " + q(dir_ / "disk.img"));
    auto o = size_of(dir_ / "disk.img");
    EXPECT_EQ(o.status, 0) << o.output;
    EXPECT_EQ(o.output, "3000000\n");
    EXPECT_EQ(o.message, "3000000");
}

TEST_F(image_size_detection, convertible_formats_report_qemu_imgs_virtual_size) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::must_run("qemu-img create -q -f qcow2 " + q(dir_ / "disk.qcow2") + " 1G");
    auto o = size_of(dir_ / "disk.qcow2");
    EXPECT_EQ(o.status, 0) << o.output;
    EXPECT_EQ(o.message, "1073741824");
    EXPECT_EQ(o.output, "1073741824\n");
    for (const char* fmt : {"vmdk", "vhdx", "vdi"}) {
        const fs::path p = dir_ / (std::string("disk.") + fmt);
        test::must_run("qemu-img create -q -f " + std::string(fmt) + " " + q(p) + " 64M");
        auto r = size_of(p);
        EXPECT_EQ(r.status, 0) << fmt << ": " << r.output;
        EXPECT_EQ(r.message, "67108864") << fmt;
    }
}

TEST_F(image_size_detection, a_qcow2_with_a_backing_file_is_refused_before_qemu_img_opens_it) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::must_run("qemu-img create -q -f qcow2 -F raw -b /etc/hostname " + q(dir_ / "disk.qcow2") + " 1M");
    auto o = size_of(dir_ / "disk.qcow2");
    EXPECT_EQ(o.status, 2) << o.output;
    EXPECT_NE(o.output.find("E_UNSAFE_IMAGE"), std::string::npos) << o.output;
    EXPECT_EQ(o.message, "");
}

TEST_F(image_size_detection, files_that_are_no_disk_image_exit_2_with_a_reason) {
    test::must_run("head -c 100000 /dev/urandom > " + q(dir_ / "data") + " && gzip -k " + q(dir_ / "data") + " && tar -C " +
                   q(dir_.path()) + " -cf " + q(dir_ / "data.tar") + " data && printf tiny > " + q(dir_ / "tiny"));
    struct expect {
        fs::path path;
        std::string reason;
    };
    for (const auto& e : std::vector<expect>{{dir_ / "data.gz", "is gzip-compressed, not a disk image"},
                                             {dir_ / "data.tar", "is a tar file, not a disk image"},
                                             {dir_ / "tiny", "E_TOO_SMALL"},
                                             {dir_ / "absent", "E_IO"}}) {
        auto o = size_of(e.path);
        EXPECT_EQ(o.status, 2) << e.path;
        EXPECT_NE(o.output.find("Unable to extract information from '" + e.path.string() + "'"), std::string::npos) << o.output;
        EXPECT_NE(o.output.find(e.reason), std::string::npos) << o.output;
        EXPECT_EQ(o.message, "") << e.path;
    }
}

TEST_F(image_size_detection, bad_arguments_exit_with_cdis_statuses) {
    test::must_run("truncate -s 1M " + q(dir_ / "disk.img"));
    EXPECT_EQ(run({}).status, 1);
    EXPECT_EQ(run({"-unknown", "x"}).status, 2);
    EXPECT_EQ(run({"-image-path", (dir_ / "disk.img").string(), "-scheme", "http://"}).status, 3);
    auto o = run({"--image-path=" + (dir_ / "disk.img").string(), "-scheme", "file://"});
    EXPECT_EQ(o.status, 0) << o.output;
    EXPECT_EQ(o.message, "1048576");
    auto r = test::run_command("env CDI_TERMINATION_LOG=" + q(dir_ / "no-such-dir" / "log") + " " CDI_BINARY_DIR
                               "/containers/tools/cdi-image-size-detection -image-path " + q(dir_ / "disk.img"));
    EXPECT_EQ(r.status, 4) << r.output;
}

}  // namespace
}  // namespace cdi
