// cdi-uploadserver as a host-assisted clone target (contract 6.6-6.8): a real process with mutual TLS,
// curl POSTing chunked Snappy-framed streams with x-cdi-content-type as CDI's clone source does, the
// streams made by GNU `tar -S` and the independent python framing encoder.
#include "support/pki.hpp"
#include "support/test_env.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;
using test::slurp;

constexpr std::uint64_t disk_size = 4 << 20;
constexpr const char* clone_complete = R"({"preallocationApplied":false,"message":"Clone Complete"})";

class upload_clone_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("curl") || !test::have_tool("openssl") || !test::have_tool("tar"))
            GTEST_SKIP() << "needs curl, openssl and tar";
        fs::create_directories(data_);
        fs::create_directories(src_ / "sub");
        must_run("truncate -s " + std::to_string(disk_size) + " " + q(src_ / "disk.img"));
        for (auto [off, len] : {std::pair<std::uint64_t, int>{0, 65536}, {2 << 20, 65536}, {disk_size - 4096, 4096}}) {
            must_run("head -c " + std::to_string(len) + " /dev/urandom | dd of=" + q(src_ / "disk.img") +
                     " bs=4096 seek=" + std::to_string(off / 4096) + " conv=notrunc status=none");
        }
        must_run("echo hello > " + q(src_ / "sub" / std::string(150, 'x')));
        // What CDI's clone source sends: `tar cv -S` inside the mount, and the raw device bytes.
        must_run("cd " + q(src_) + " && tar cSf " + q(dir_ / "fs.tar") + " disk.img sub");
        frame(dir_ / "fs.tar", dir_ / "fs.sz");
        frame(src_ / "disk.img", dir_ / "block.sz");
        frame(src_ / "disk.img", dir_ / "corrupt.sz", "--corrupt-crc 30");
    }

    void frame(const fs::path& in, const fs::path& out, const std::string& opts = "") {
        must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_frame.py " + opts + " < " + q(in) + " > " + q(out));
    }

    test::server_process& start(std::map<std::string, std::string> extra = {}) {
        server_.emplace(test::upload_server_env(pki_, data_, dir_ / "termination-log", std::move(extra)), dir_ / "server.log");
        port_ = server_->port();
        EXPECT_GT(port_, 0) << server_->log();
        return *server_;
    }

    // POSTs a framed stream chunked, as the clone source does; returns the HTTP status or curl's failure.
    std::string clone(const fs::path& stream, const std::string& type, const std::string& path = "/v1beta1/upload") {
        std::string cmd = "curl -sS --max-time 30 --cacert " + q(pki_.crt("ca")) + " --cert " + q(pki_.crt("client")) +
                          " --key " + q(pki_.key("client")) + " -o " + q(dir_ / "body") + " -w '%{http_code}' " +
                          "-H 'x-cdi-content-type: " + type + "' -H 'Transfer-Encoding: chunked' --data-binary @" +
                          q(stream) + " https://127.0.0.1:" + std::to_string(port_) + path;
        fs::remove(dir_ / "body");
        auto r = test::run_command(cmd);
        return r.status == 0 ? r.output : "curl exit " + std::to_string(r.status) + ": " + r.output;
    }
    std::string body() const { return slurp(dir_ / "body"); }

    std::unique_ptr<test::loop_device> aa_device(std::uint64_t size) {
        must_run("head -c " + std::to_string(size) + " /dev/zero | tr '\\0' '\\252' > " + q(dir_ / "backing"));
        return std::make_unique<test::loop_device>(dir_ / "backing", size);
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path src_ = dir_ / "src";
    test::pki pki_{dir_ / "pki"};
    std::optional<test::server_process> server_;
    int port_ = 0;
};

TEST_F(upload_clone_test, a_filesystem_clone_into_a_file_volume_recreates_the_tree_and_ends_with_clone_complete) {
    auto& s = start();
    EXPECT_EQ(clone(dir_ / "fs.sz", "filesystem-clone"), "200") << body() << s.log();
    EXPECT_EQ(body(), "");
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("diff -r " + q(src_) + " " + q(data_));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);
    EXPECT_EQ(slurp(dir_ / "termination-log"), clone_complete);
}

TEST_F(upload_clone_test, a_filesystem_clone_onto_a_block_volume_writes_disk_img) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(disk_size);
    auto& s = start({{"DESTINATION", dev->path().string()}});
    EXPECT_EQ(clone(dir_ / "fs.sz", "filesystem-clone"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(dev->path()));
    EXPECT_EQ(slurp(dir_ / "termination-log"), clone_complete);
}

TEST_F(upload_clone_test, a_blockdevice_clone_onto_a_block_volume_is_byte_exact) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(disk_size);
    auto& s = start({{"DESTINATION", dev->path().string()}});
    EXPECT_EQ(clone(dir_ / "block.sz", "blockdevice-clone"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(dev->path()));
}

TEST_F(upload_clone_test, a_corrupt_stream_fails_and_a_retry_on_the_same_server_succeeds) {
    auto& s = start();
    const std::string status = clone(dir_ / "corrupt.sz", "blockdevice-clone");
    EXPECT_TRUE(status == "400" || status == "500") << status << s.log();
    EXPECT_NE(body().find("Saving stream failed: E_DECOMPRESS"), std::string::npos) << body();
    EXPECT_NE(body().find("checksum mismatch"), std::string::npos) << body();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(clone(dir_ / "block.sz", "blockdevice-clone"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(data_ / "disk.img"));
    EXPECT_EQ(slurp(dir_ / "termination-log"), clone_complete);
}

TEST_F(upload_clone_test, an_async_clone_gets_500_and_the_server_stays_ready) {
    auto& s = start();
    EXPECT_EQ(clone(dir_ / "block.sz", "blockdevice-clone", "/v1beta1/upload-async"), "500") << s.log();
    EXPECT_EQ(body(), "Saving stream failed: async clone not supported");
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_EQ(clone(dir_ / "block.sz", "blockdevice-clone"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
}

}  // namespace
}  // namespace cdi
