// A qcow2 upload decoded as it arrives (issue 14), through the running cdi-uploadserver: every route
// lands the same disk as `qemu-img convert`, scratch is never written, a pod without scratch takes
// it, and an image too large for the volume is refused at its header while the body is still coming.
#include "support/raw_requests.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;
using test::slurp;

class upload_stream_test : public test::raw_request_fixture {
protected:
    fs::path make_qcow2(const std::string& opts = "") {
        const fs::path img = dir_ / "disk.qcow2";
        must_run("qemu-img convert -q -f raw -O qcow2 " + opts + " " + q(dir_ / "disk.raw") + " " + q(img));
        return img;
    }
};

TEST_F(upload_stream_test, every_upload_route_decodes_a_qcow2_with_nothing_in_scratch) {
    const fs::path img = make_qcow2("-c");
    struct route {
        const char* path;
        bool form;
    };
    for (const route r : {route{"/v1beta1/upload", false}, route{"/v1beta1/upload-async", false},
                          route{"/v1beta1/upload-form", true}, route{"/v1beta1/upload-form-async", true}}) {
        fs::remove(data_ / "disk.img");
        auto& s = start();
        const std::string data = r.form ? "-F file=@" + q(img) : "--data-binary @" + q(img);
        EXPECT_EQ(curl(data, r.path), "200") << r.path << ": " << body() << s.log();
        EXPECT_EQ(s.wait(), 0) << r.path << s.log();
        EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw")) << r.path;
        EXPECT_TRUE(fs::is_empty(scratch_)) << r.path;
        EXPECT_EQ(s.log().find("Staged"), std::string::npos) << r.path << ": nothing may be staged\n" << s.log();
    }
}

TEST_F(upload_stream_test, a_pod_without_scratch_takes_a_qcow2_upload) {
    const fs::path img = make_qcow2();
    fs::remove_all(scratch_);
    auto& s = start();
    EXPECT_EQ(upload(img), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_EQ(slurp(dir_ / "termination-log"), R"({"preallocationApplied":false,"message":"Upload Complete"})");
}

// virtctl retries every failure five times (kubevirt #16811): a too-small volume must cost one
// header, not five full uploads. The request announces 1 GiB and sends 2 MiB (the image's header and
// tables, then zeros: the body reaches the job in 1 MiB chunks): the 400 must come back while the
// client still owes almost all of its body.
TEST_F(upload_stream_test, a_qcow2_too_large_for_the_volume_gets_400_at_its_header_while_the_body_is_still_coming) {
    const fs::path img = dir_ / "big.qcow2";
    must_run("qemu-img create -q -f qcow2 " + q(img) + " 64M");
    auto& s = start({{"UPLOAD_IMAGE_SIZE", "4Mi"}});
    test::tls_client c(port_, opts());
    ASSERT_TRUE(c.ok()) << c.error();
    auto image = test::read_file(img);
    ASSERT_LT(image.size(), 2u << 20);
    image.resize(2u << 20);
    c.send("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n");
    c.send(std::string_view(image.data(), image.size()));
    const test::exchange e = test::parse_response(c.read_all(std::chrono::seconds(10)), c.closed());
    EXPECT_EQ(e.status_line, "HTTP/1.1 400 Bad Request") << s.log();
    EXPECT_NE(e.body.find("Saving stream failed: effective image size is larger than the reported available storage"), std::string::npos)
        << e.body;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_TRUE(healthz_ok()) << "the server must be ready for a retry";
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(upload_stream_test, a_qcow2_upload_cut_short_fails_truncated_and_a_retry_succeeds) {
    const fs::path img = make_qcow2();
    const auto image = test::read_file(img);
    auto& s = start();
    {
        test::tls_client c(port_, opts());
        ASSERT_TRUE(c.ok()) << c.error();
        c.send("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(image.size()) + "\r\n\r\n");
        c.send(std::string_view(image.data(), image.size() / 2));
    }  // the connection closes mid-body
    for (int i = 0; i < 50 && s.log().find("E_TRUNCATED") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_NE(s.log().find("E_TRUNCATED"), std::string::npos) << s.log();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(upload(img), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
}

TEST_F(upload_stream_test, the_qemu_img_switch_stages_a_qcow2_upload_in_scratch) {
    const fs::path img = make_qcow2();
    auto& s = start({{"CDI_CONVERTER", "qemu-img"}});
    EXPECT_EQ(upload(img), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
    EXPECT_NE(s.log().find("Staged"), std::string::npos) << s.log();
    EXPECT_TRUE(fs::is_empty(scratch_));
}

}  // namespace
}  // namespace cdi
