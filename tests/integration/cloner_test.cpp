// cdi-cloner end to end (contract 6.8): the real binary, configured only by the environment CDI's
// clone controller gives the source pod, streaming to the real cdi-uploadserver as a clone target
// over mutual TLS (certificates made like CDI's: one CA, the server's for 127.0.0.1, the client's
// with the clone client name). Every direction: filesystem → filesystem (sparse files, hard links,
// symlinks, empty directories, modes; preallocation on and off), block → block, block → filesystem
// (disk.img), filesystem holding disk.img → block; a target too small; an upload server killed
// mid-stream (tests/support/dying_upload_server.py), then a second run that succeeds.
#include "support/child_process.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <memory>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;
using test::slurp;

constexpr std::uint64_t disk_size = 8 << 20;

class cloner_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("openssl") || !test::have_tool("tar")) GTEST_SKIP() << "needs openssl and tar";
        fs::create_directories(data_);
        fs::create_directories(src_);
    }

    // A sparse disk image: random 64 KiB at 0 and 4 MiB, a pattern at the end, holes between.
    void make_disk(const fs::path& p, std::uint64_t size = disk_size) {
        must_run("truncate -s " + std::to_string(size) + " " + q(p));
        for (std::uint64_t mib : {std::uint64_t{0}, std::uint64_t{4}}) {
            must_run("head -c 65536 /dev/urandom | dd of=" + q(p) + " bs=1M seek=" + std::to_string(mib) +
                     " conv=notrunc status=none");
        }
        must_run("yes cdi | head -c 4096 | dd of=" + q(p) + " bs=4096 seek=" + std::to_string(size / 4096 - 1) +
                 " conv=notrunc status=none");
    }

    void make_tree() {
        make_disk(src_ / "disk.img");
        fs::create_directories(src_ / "dir" / "empty");
        fs::create_directories(src_ / "lost+found");
        must_run("echo hello > " + q(src_ / "dir" / "file") + " && chmod 0640 " + q(src_ / "dir" / "file"));
        must_run("ln " + q(src_ / "dir" / "file") + " " + q(src_ / "dir" / "hard"));
        must_run("ln -s dir/file " + q(src_ / "link"));
        must_run("chmod 0750 " + q(src_ / "dir" / "empty"));
    }

    std::unique_ptr<test::loop_device> device(const std::string& name, std::uint64_t size, const std::string& fill) {
        const fs::path backing = dir_ / name;
        if (fill == "disk") make_disk(backing, size);
        else if (fill == "random") must_run("head -c " + std::to_string(size) + " /dev/urandom > " + q(backing));
        else must_run("head -c " + std::to_string(size) + " /dev/zero | tr '\\0' '\\" + fill + "' > " + q(backing));
        return std::make_unique<test::loop_device>(backing, size);
    }

    test::server_process& start_server(std::map<std::string, std::string> extra = {}) {
        server_.emplace(test::upload_server_env(pki_, data_, dir_ / "server-termination-log", std::move(extra)), dir_ / "server.log");
        port_ = server_->port();
        EXPECT_GT(port_, 0) << server_->log();
        return *server_;
    }

    std::map<std::string, std::string> cloner_env(const std::string& mode, const fs::path& mount, bool preallocation) {
        return {
            {"CLIENT_KEY", slurp(pki_.key("client"))},
            {"CLIENT_CERT", slurp(pki_.crt("client"))},
            {"SERVER_CA_CERT", slurp(pki_.crt("ca"))},
            {"UPLOAD_URL", "https://127.0.0.1:" + std::to_string(port_) + "/v1beta1/upload"},
            {"OWNER_UID", "0a1b2c3d-uid"},
            {"PREALLOCATION", preallocation ? "true" : "false"},
            {"VOLUME_MODE", mode},
            {"MOUNT_POINT", mount.string()},
            {"CDI_TERMINATION_LOG", (dir_ / "termination-log").string()},
            {"CDI_METRICS_ADDRESS", "127.0.0.1"},
            {"CDI_METRICS_PORT", "0"},
        };
    }

    // Runs cdi-cloner with the source pod's environment; returns its exit status.
    int clone(const std::string& mode, const fs::path& mount, bool preallocation = false) {
        fs::remove(dir_ / "termination-log");
        test::child_process cloner({CDI_BINARY_DIR "/cloner/cdi-cloner"}, cloner_env(mode, mount, preallocation),
                                   dir_ / "cloner.log");
        EXPECT_TRUE(cloner.started());
        const int status = cloner.wait(std::chrono::seconds(60));
        cloner_log_ = cloner.log();
        return status;
    }
    // tests/support/dying_upload_server.py in place of the upload server; port_ is its port.
    std::unique_ptr<test::child_process> python_peer(const std::string& after, bool stall) {
        std::vector<std::string> argv = {"/usr/bin/python3", CDI_SOURCE_DIR "/tests/support/dying_upload_server.py",
                                         "--cert", pki_.crt("server").string(), "--key", pki_.key("server").string(),
                                         "--ca", pki_.crt("ca").string(), "--port-file", (dir_ / "port").string(),
                                         "--after", after};
        if (stall) argv.push_back("--stall");
        auto peer = std::make_unique<test::child_process>(argv, std::map<std::string, std::string>{}, dir_ / "peer.log");
        for (int i = 0; i < 200 && !fs::exists(dir_ / "port"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        EXPECT_TRUE(fs::exists(dir_ / "port")) << peer->log();
        port_ = fs::exists(dir_ / "port") ? std::stoi(slurp(dir_ / "port")) : 0;
        return peer;
    }
    std::string message() const { return slurp(dir_ / "termination-log"); }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path src_ = dir_ / "src";
    test::pki pki_{dir_ / "pki"};
    std::optional<test::server_process> server_;
    int port_ = 0;
    std::string cloner_log_;
};

TEST_F(cloner_test, a_filesystem_clone_recreates_the_tree_with_holes_links_and_modes) {
    make_tree();
    auto& s = start_server();
    ASSERT_EQ(clone("filesystem", src_), 0) << cloner_log_ << s.log();
    EXPECT_EQ(message(), "Clone Complete");
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("diff -r --no-dereference -x lost+found " + q(src_) + " " + q(data_));
    EXPECT_FALSE(fs::exists(data_ / "lost+found"));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);
    struct stat a {}, b {};
    ASSERT_EQ(::stat((data_ / "dir" / "file").c_str(), &a), 0);
    ASSERT_EQ(::stat((data_ / "dir" / "hard").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_mode & 07777, 0640u);
    ASSERT_EQ(::stat((data_ / "dir" / "empty").c_str(), &a), 0);
    EXPECT_EQ(a.st_mode & 07777, 0750u);
    EXPECT_EQ(fs::read_symlink(data_ / "link"), "dir/file");
}

TEST_F(cloner_test, with_preallocation_the_message_says_so_and_the_content_is_the_same) {
    make_tree();
    auto& s = start_server({{"PREALLOCATION", "true"}});
    ASSERT_EQ(clone("filesystem", src_, true), 0) << cloner_log_ << s.log();
    EXPECT_EQ(message(), "Clone Complete, Preallocation applied");
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("diff -r --no-dereference -x lost+found " + q(src_) + " " + q(data_));
}

TEST_F(cloner_test, a_block_clone_onto_a_block_volume_is_byte_exact) {
    CDI_REQUIRE_LOOP();
    auto source = device("source", disk_size, "disk");
    auto target = device("target", disk_size, "252");
    auto& s = start_server({{"DESTINATION", target->path().string()}});
    ASSERT_EQ(clone("block", source->path()), 0) << cloner_log_ << s.log();
    EXPECT_EQ(message(), "Clone Complete");
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(source->path()) + " " + q(target->path()));
}

TEST_F(cloner_test, a_block_clone_into_a_filesystem_volume_writes_disk_img) {
    CDI_REQUIRE_LOOP();
    auto source = device("source", disk_size, "disk");
    auto& s = start_server();
    ASSERT_EQ(clone("block", source->path()), 0) << cloner_log_ << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(source->path()) + " " + q(data_ / "disk.img"));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);  // the zero runs stay holes
}

TEST_F(cloner_test, a_filesystem_holding_disk_img_clones_onto_a_block_volume) {
    CDI_REQUIRE_LOOP();
    make_disk(src_ / "disk.img");
    auto target = device("target", disk_size, "252");
    auto& s = start_server({{"DESTINATION", target->path().string()}});
    ASSERT_EQ(clone("filesystem", src_), 0) << cloner_log_ << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(target->path()));
}

TEST_F(cloner_test, a_target_smaller_than_the_source_fails_on_both_sides) {
    CDI_REQUIRE_LOOP();
    auto source = device("source", disk_size, "disk");
    auto target = device("target", disk_size / 2, "252");
    auto& s = start_server({{"DESTINATION", target->path().string()}});
    EXPECT_EQ(clone("block", source->path()), 1) << cloner_log_;
    EXPECT_TRUE(message().starts_with("Unable to clone: E_SOURCE_HTTP: the upload server answered 400")) << message();
    EXPECT_NE(message().find("E_TOO_LARGE"), std::string::npos) << message();
    EXPECT_NE(s.wait(std::chrono::milliseconds(200)), 0);  // the server is still there, waiting for a good clone
}

TEST_F(cloner_test, a_killed_upload_server_fails_the_clone_and_a_second_run_succeeds) {
    CDI_REQUIRE_LOOP();
    auto source = device("source", disk_size, "random");  // 8 MiB on the wire: the server dies after 1 MiB
    auto dying = python_peer("1048576", false);
    EXPECT_EQ(clone("block", source->path()), 1) << cloner_log_;
    EXPECT_TRUE(message().starts_with("Unable to clone: E_")) << message();
    EXPECT_EQ(dying->wait(), 128 + SIGKILL) << dying->log();

    auto& s = start_server();
    ASSERT_EQ(clone("block", source->path()), 0) << cloner_log_ << s.log();
    EXPECT_EQ(message(), "Clone Complete");
    EXPECT_EQ(s.wait(), 0) << s.log();
    must_run("cmp " + q(source->path()) + " " + q(data_ / "disk.img"));
}

TEST_F(cloner_test, mid_stream_the_endpoint_reports_progress_under_100_and_memory_stays_bounded) {
    CDI_REQUIRE_LOOP();
    if (!test::have_tool("curl")) GTEST_SKIP() << "needs curl";
    auto source = device("source", 64 << 20, "random");  // far more than the socket buffers hold
    auto peer = python_peer("4194304", true);
    test::child_process cloner({CDI_BINARY_DIR "/cloner/cdi-cloner"}, cloner_env("block", source->path(), false),
                               dir_ / "cloner.log");
    ASSERT_TRUE(cloner.log_has("metrics endpoint listening on port ")) << cloner.log();
    const std::string log = cloner.log();
    const auto at = log.find("listening on port ") + std::string("listening on port ").size();
    const std::string metrics = "https://127.0.0.1:" + std::to_string(std::atoi(log.c_str() + at)) + "/metrics";
    // The peer stops reading after 4 MiB: the cloner's sends block with the rest still to come.
    double value = 0;
    for (int i = 0; i < 100 && value == 0; ++i) {
        const std::string text = must_run("curl -sk " + metrics);
        const std::string series = "kubevirt_cdi_clone_progress_total{ownerUID=\"0a1b2c3d-uid\"} ";
        ASSERT_NE(text.find(series), std::string::npos) << text;
        value = std::atof(text.c_str() + text.find(series) + series.size());
        if (value == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_GT(value, 0.0);
    EXPECT_LT(value, 100.0);
    EXPECT_LT(cloner.vm_hwm_kib(), 64u * 1024) << "peak RSS";
    peer->signal(SIGKILL);
    EXPECT_EQ(cloner.wait(std::chrono::seconds(30)), 1) << cloner.log();
}

TEST_F(cloner_test, a_missing_variable_fails_before_anything_starts_naming_it) {
    port_ = 1;
    std::map<std::string, std::string> env = {{"CDI_TERMINATION_LOG", (dir_ / "termination-log").string()}};
    test::child_process cloner({CDI_BINARY_DIR "/cloner/cdi-cloner"}, env, dir_ / "cloner.log");
    EXPECT_EQ(cloner.wait(), 1);
    EXPECT_EQ(message(), "Unable to clone: E_BAD_REQUEST: invalid configuration: environment variable CLIENT_KEY is missing");
}

}  // namespace
}  // namespace cdi
