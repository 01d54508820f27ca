// The upload server's answers where CDI's contract is exact about them (issue 12, "Contract and
// robustness gaps"): the status of an unsafe archive, of malformed chunked framing, and of requests
// racing an upload. Real cdi-uploadserver, curl for real uploads, tls_client for raw requests.
#include "support/hostile_tars.hpp"
#include "support/raw_requests.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::exchange;
using test::q;

class upload_contract_test : public test::raw_request_fixture {};

// A cgroup v1 blkio group that throttles writes to one block device; processes added to it go back
// to the root group, and the group is removed, on destruction.
class write_throttle {
public:
    static constexpr const char* root = "/sys/fs/cgroup/blkio";
    static bool available() { return fs::exists(fs::path(root) / "blkio.throttle.write_bps_device"); }

    write_throttle(const fs::path& device, std::uint64_t bytes_per_second)
        : dir_(fs::path(root) / ("cdi-test-" + std::to_string(::getpid()))) {
        struct stat st {};
        EXPECT_EQ(::stat(device.c_str(), &st), 0) << device;
        fs::create_directory(dir_);
        put(dir_ / "blkio.throttle.write_bps_device",
            std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)) + " " + std::to_string(bytes_per_second));
    }
    write_throttle(const write_throttle&) = delete;
    write_throttle& operator=(const write_throttle&) = delete;
    ~write_throttle() {
        std::ifstream procs(dir_ / "cgroup.procs");
        std::vector<std::string> pids;
        for (std::string pid; std::getline(procs, pid);) pids.push_back(pid);
        for (const auto& pid : pids) put(fs::path(root) / "cgroup.procs", pid);
        ::rmdir(dir_.c_str());
    }
    void add(pid_t pid) { put(dir_ / "cgroup.procs", std::to_string(pid)); }

private:
    static void put(const fs::path& file, const std::string& text) {
        std::ofstream out(file);
        out << text << std::flush;
        EXPECT_TRUE(out.good()) << "writing " << text << " to " << file;
    }
    fs::path dir_;
};

TEST_F(upload_contract_test, an_unsafe_archive_entry_is_a_400_naming_its_class_and_the_server_stays_ready) {
    auto& s = start();
    test::python_tar(dir_ / "escape.tar", "reg('ok.txt', b'fine')\nreg('../escape.txt', b'out')");
    test::python_tar(dir_ / "link.tar", "sym('l', '/etc')\nreg('l/passwd', b'owned')");
    for (const char* tar : {"escape.tar", "link.tar"}) {
        EXPECT_EQ(curl("--data-binary @" + q(dir_ / tar), "/v1beta1/upload-archive"), "400") << tar << s.log();
        EXPECT_EQ(body().rfind("Saving stream failed: E_ARCHIVE_UNSAFE_ENTRY: ", 0), 0u) << body();
    }
    EXPECT_FALSE(fs::exists(dir_ / "escape.txt"));
    test::python_tar(dir_ / "good.tar", "reg('hello.txt', b'hello')");
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "good.tar"), "/v1beta1/upload-archive"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "hello.txt"), (std::vector<char>{'h', 'e', 'l', 'l', 'o'}));
}

// A complete body (its Content-Length all sent) holding a tar cut short is the client's bad input:
// 400 naming the cause, nothing unpacked kept, and the server takes the next upload. A body cut
// short itself stays a 500 E_TRUNCATED (the transport, not the archive).
TEST_F(upload_contract_test, a_tar_cut_short_inside_a_complete_body_is_a_400_naming_the_cause) {
    auto& s = start();
    test::python_tar(dir_ / "short.tar", "reg('first.txt', b'kept?')\nreg('disk.img', b'd' * 50000)");
    fs::resize_file(dir_ / "short.tar", 20000);
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "short.tar"), "/v1beta1/upload-archive"), "400") << s.log();
    EXPECT_EQ(body().rfind("Saving stream failed: E_BAD_IMAGE: ", 0), 0u) << body();
    EXPECT_NE(body().find("tar archive ends early"), std::string::npos) << body();
    EXPECT_FALSE(fs::exists(data_ / "first.txt"));
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    test::python_tar(dir_ / "good.tar", "reg('hello.txt', b'hello')");
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "good.tar"), "/v1beta1/upload-archive"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
}

// The same for a compressed image and for a qcow2 decoded as it arrives: a stream cut short inside a
// complete body is E_BAD_IMAGE, a 400 naming the stream's own cause (it was a 500 E_TRUNCATED, which
// reads as a transport failure and invites a retry of the same bytes); nothing is left behind.
TEST_F(upload_contract_test, a_compressed_or_qcow2_image_cut_short_inside_a_complete_body_is_a_400_naming_the_cause) {
    auto& s = start();
    test::must_run("head -c 3145728 /dev/urandom > " + q(dir_ / "disk.raw"));
    test::must_run("gzip -1 -c " + q(dir_ / "disk.raw") + " > " + q(dir_ / "disk.raw.gz"));
    test::must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    for (const auto& [name, cause] : {std::pair{"disk.raw.gz", "gzip stream ends before its trailer"},
                                      std::pair{"disk.qcow2", "qcow2 stream ended at"}}) {
        fs::resize_file(dir_ / name, fs::file_size(dir_ / name) / 2);
        EXPECT_EQ(curl("--data-binary @" + q(dir_ / name), "/v1beta1/upload"), "400") << name << s.log();
        EXPECT_EQ(body().rfind("Saving stream failed: E_BAD_IMAGE: ", 0), 0u) << body();
        EXPECT_NE(body().find("the image ends early inside the complete upload body"), std::string::npos) << body();
        EXPECT_NE(body().find(cause), std::string::npos) << body();
        EXPECT_FALSE(fs::exists(data_ / "disk.img")) << name;
    }
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "disk.raw"), "/v1beta1/upload"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
}

// A client retrying while an upload runs reads 503 whatever its request looks like: a form without
// a boundary (400 when idle) or an async clone (500 when idle) included; the upload is untouched.
TEST_F(upload_contract_test, requests_racing_an_upload_read_503_before_their_route_validation) {
    auto& s = start();
    const auto image = test::read_file(dir_ / "disk.raw");
    test::tls_client uploader(port_, opts());
    ASSERT_TRUE(uploader.ok()) << uploader.error();
    uploader.send("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(image.size()) + "\r\n\r\n");
    uploader.send(std::string_view(image.data(), image.size() / 2));
    ASSERT_TRUE(s.log_has("upload started")) << s.log();

    const std::string head = " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n";
    for (const std::string& request :
         {"POST /v1beta1/upload-form" + head + "Content-Type: application/octet-stream\r\n\r\nabcde",
          "POST /v1beta1/upload-form-async" + head + "\r\nabcde",
          "POST /v1beta1/upload-async" + head + "x-cdi-content-type: filesystem-clone\r\n\r\nabcde",
          "POST /v1alpha1/upload-form-async" + head + "x-cdi-content-type: blockdevice-clone\r\n\r\nabcde",
          "POST /v1beta1/upload" + head + "\r\nabcde"}) {
        const exchange e = raw(request);
        EXPECT_EQ(e.status_line, "HTTP/1.1 503 Service Unavailable") << request;
    }
    uploader.send(std::string_view(image.data() + image.size() / 2, image.size() - image.size() / 2));
    const exchange done = test::parse_response(uploader.read_all(30s), uploader.closed());
    EXPECT_EQ(done.status_line, "HTTP/1.1 200 OK") << done.body << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "disk.img"), image);
}

// Malformed chunked framing is the client's fault: 400 E_BAD_REQUEST, the connection closes, no
// target is left and the server stays ready (today's Beast errors were the job's 500 E_TRUNCATED).
TEST_F(upload_contract_test, malformed_chunked_framing_answers_400_and_closes) {
    start();
    const std::string post = "POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (const std::string& chunks : {std::string("zz\r\nabc\r\n0\r\n\r\n"),
                                      std::string("fffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
                                      std::string("1000\r\n") + std::string(4096, 'a') + "XX\r\n0\r\n\r\n"}) {
        const exchange e = raw(post + chunks);
        EXPECT_EQ(e.status_line, "HTTP/1.1 400 Bad Request") << chunks.substr(0, 30) << "\n" << server_->log();
        EXPECT_TRUE(e.closed);
        EXPECT_EQ(e.body.rfind("E_BAD_REQUEST: malformed request body: ", 0), 0u) << e.body;
        EXPECT_TRUE(healthz_ok());
    }
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    expect_a_real_upload_works();
}

// The body idle timer runs only while a read is pending (issue 12): while the target is slower than
// the client, the session stops reading (every chunk waits for the disk) and no timer runs, so a
// storage stall longer than the idle timeout never fails the upload; a silent client still does.
// The timeout is shortened to 300 ms (CDI_TEST_BODY_IDLE_TIMEOUT_MS) and the target is a loop
// device throttled to 2 MiB/s: each 1 MiB chunk takes ~0.5 s to free, so reads pause longer than
// the timeout about 20 times.
TEST_F(upload_contract_test, a_disk_slower_than_the_body_idle_timer_never_fails_the_upload) {
    CDI_REQUIRE_LOOP();
    if (!write_throttle::available()) GTEST_SKIP() << "needs cgroup v1 blkio.throttle.write_bps_device";
    constexpr std::uint64_t size = 24 << 20;
    const fs::path image = dir_ / "big.raw";
    test::must_run("head -c 24M /dev/urandom > " + q(image));
    test::loop_device dev(dir_ / "target.img", size);
    auto& s = start({{"DESTINATION", dev.path().string()}, {"CDI_TEST_BODY_IDLE_TIMEOUT_MS", "300"}});

    {  // the timer itself: a client silent mid-body is cut after 300 ms, and the upload fails
        test::tls_client silent(port_, opts());
        ASSERT_TRUE(silent.ok()) << silent.error();
        const auto t0 = std::chrono::steady_clock::now();
        silent.send("POST /v1beta1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
        silent.read_all(10s);  // the timeout closes the socket: nothing can be answered
        EXPECT_TRUE(silent.closed());
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
        EXPECT_TRUE(s.log_has("the upload body ended after 10 bytes of 1000")) << s.log();
        EXPECT_TRUE(s.log_has("E_TRUNCATED", 1, 0ms)) << s.log();
    }

    write_throttle throttle(dev.path(), 2 << 20);
    throttle.add(s.pid());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(upload(image), "200") << body() << s.log();
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_GE(took, 9s) << "the throttle did not hold the body back";
    EXPECT_EQ(test::read_file(dev.path()), test::read_file(image));
}

}  // namespace
}  // namespace cdi
