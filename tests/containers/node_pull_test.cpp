// A registry node pull end to end (contract 1.7): the static cdi-containerimage-server serving an
// image directory, and the real cdi-importer with the environment CDI's controller gives it
// (IMPORTER_SOURCE=http, IMPORTER_PULL_METHOD=node, the ready and done files).
#include "containers/image_server_fixture.hpp"
#include "support/fault_http_server.hpp"
#include "support/importer_process.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;

class node_pull : public test::image_server_fixture {
protected:
    // The importer as the controller runs it for a node pull (its data directory is data_).
    // scratch: an existing directory, or a missing path (no scratch space, as for a raw image).
    test::importer_outcome import(const std::string& endpoint, const fs::path& scratch) {
        return test::run_importer(dir_.path(), {{"CDI_SCRATCH_DIR", scratch.string()},
                                                {"IMPORTER_CONTENTTYPE", "kubevirt"},
                                                {"OWNER_UID", "0f3c-uid"},
                                                {"IMPORTER_SOURCE", "http"},
                                                {"IMPORTER_PULL_METHOD", "node"},
                                                {"IMPORTER_ENDPOINT", endpoint},
                                                {"IMPORTER_READY_FILE", ready_.string()},
                                                {"IMPORTER_DONE_FILE", done_.string()}});
    }

    // A hostile sidecar in place of the image server: /info answered by `info`, the disk by `disk`;
    // every request target is recorded. The ready file names `name`.
    using handler = std::function<void(const test::fault_request&, test::fault_reply&)>;
    std::unique_ptr<test::fault_http_server> sidecar(const std::string& name, handler info, handler disk) {
        fs::create_directories(data_);
        test::write_file(ready_, name.data(), name.size());
        return std::make_unique<test::fault_http_server>([this, info, disk](const test::fault_request& req, test::fault_reply& out) {
            {
                std::lock_guard lock(mutex_);
                targets_.push_back(req.method + " " + req.target);
            }
            (req.target == "/info" ? info : disk)(req, out);
        });
    }
    static void serve_info(const test::fault_request&, test::fault_reply& out) {
        const std::string body = R"({"env":["KUBEVIRT_IO_TEST=x"]})";
        out.send(test::fault_http_server::head(200, {{"Content-Length", std::to_string(body.size())}}) + body);
    }
    handler serve_disk() {
        return [this](const test::fault_request& req, test::fault_reply& out) {
            out.send(test::fault_http_server::head(200, {{"Content-Length", std::to_string(image_.size())}}));
            if (req.method != "HEAD") out.send(image_);
        };
    }
    bool disk_requested() {
        std::lock_guard lock(mutex_);
        return std::any_of(targets_.begin(), targets_.end(), [](const std::string& t) { return t.find("/info") == std::string::npos; });
    }

    fs::path data_ = dir_ / "data";
    std::mutex mutex_;
    std::vector<std::string> targets_;
};

TEST_F(node_pull, the_importer_pulls_the_served_image_takes_labels_from_info_and_stops_the_server) {
    fs::create_directories(data_);
    fs::rename(disk_ / "disk.img", disk_ / "image.raw");  // the importer swaps the endpoint's disk.img for the ready file's name
    auto& server = start({{"KUBEVIRT_IO_TEST", "x"}, {"INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE", "u1.small"}});
    auto r = import("http://localhost:" + std::to_string(port_) + "/disk.img", dir_ / "no-scratch");
    ASSERT_EQ(r.status, 0) << r.log;
    EXPECT_TRUE(test::slurp(data_ / "disk.img") == image_);
    EXPECT_EQ(test::slurp(dir_ / "termination-log"),
              R"({"scratchSpaceRequired":false,"preallocationApplied":false,)"
              R"("labels":{"instancetype.kubevirt.io/default-instancetype":"u1.small","kubevirt.io/test":"x"},)"
              R"("message":"Import Complete"})");
    EXPECT_TRUE(fs::exists(done_));
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

// issue 12.8: a label too big for the 4096-byte termination message no longer fails the finished
// import (a restart loop over a complete disk): it is dropped, logged, and the rest reported.
TEST_F(node_pull, a_label_too_big_for_the_termination_message_is_dropped_and_the_import_succeeds) {
    fs::create_directories(data_);
    auto& server = start({{"KUBEVIRT_IO_TEST", "x"}, {"KUBEVIRT_IO_HUGE", std::string(5000, 'h')}});
    auto r = import("http://localhost:" + std::to_string(port_) + "/disk.img", dir_ / "no-scratch");
    ASSERT_EQ(r.status, 0) << test::slurp(dir_ / "termination-log");
    EXPECT_TRUE(test::slurp(data_ / "disk.img") == image_);
    EXPECT_EQ(test::slurp(dir_ / "termination-log"),
              R"({"scratchSpaceRequired":false,"preallocationApplied":false,)"
              R"("labels":{"kubevirt.io/test":"x"},"message":"Import Complete"})");
    EXPECT_NE(r.log.find("label kubevirt.io/huge dropped"), std::string::npos) << r.log.substr(0, 2000);
    EXPECT_TRUE(fs::exists(done_));
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

// CDI converts a node-pulled qcow2 straight from nbdkit-curl; our importer decodes it as it arrives,
// as any HTTP qcow2: the scratch volume, if the controller gave one, stays empty.
TEST_F(node_pull, a_qcow2_image_is_decoded_as_it_arrives) {
    CDI_REQUIRE_TOOL("qemu-img");
    fs::create_directories(data_);
    fs::create_directories(dir_ / "scratch");
    const fs::path raw = dir_ / "source.raw";
    fs::rename(disk_ / "disk.img", raw);
    test::must_run("qemu-img convert -f raw -O qcow2 '" + raw.string() + "' '" + (disk_ / "disk.qcow2").string() + "'");
    auto& server = start({{"KUBEVIRT_IO_TEST", "x"}});
    auto r = import("http://localhost:" + std::to_string(port_) + "/disk.img", dir_ / "scratch");
    ASSERT_EQ(r.status, 0) << r.log;
    EXPECT_TRUE(test::slurp(data_ / "disk.img") == image_) << test::slurp(dir_ / "termination-log");
    EXPECT_TRUE(fs::is_empty(dir_ / "scratch"));
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

// issue 19.5: the ready file's name is a file name, not URL syntax: a space, '?' or '#' is encoded.
TEST_F(node_pull, the_ready_files_name_is_percent_encoded_into_the_url) {
    auto side = sidecar("my disk?v=1#2.img", serve_info, serve_disk());
    auto r = import(side->url("/disk.img"), dir_ / "no-scratch");
    ASSERT_EQ(r.status, 0) << test::slurp(dir_ / "termination-log");
    EXPECT_TRUE(test::slurp(data_ / "disk.img") == image_);
    std::lock_guard lock(mutex_);
    EXPECT_NE(std::find(targets_.begin(), targets_.end(), "GET /my%20disk%3Fv%3D1%232.img"), targets_.end())
        << ::testing::PrintToString(targets_);
}

// issue 19.5: the sidecar never redirects in CDI's design; a redirect to another port is refused.
TEST_F(node_pull, a_sidecar_redirect_to_another_port_is_refused) {
    std::atomic<bool> elsewhere{false};
    test::fault_http_server other([&](const test::fault_request&, test::fault_reply& out) {
        elsewhere = true;
        out.send(test::fault_http_server::head(200, {{"Content-Length", "0"}}));
    });
    auto side = sidecar("image.raw", serve_info, [&](const test::fault_request&, test::fault_reply& out) {
        out.send(test::fault_http_server::head(302, {{"Location", other.url("/disk.img")}, {"Content-Length", "0"}}));
    });
    auto r = import(side->url("/disk.img"), dir_ / "no-scratch");
    EXPECT_EQ(r.status, 1) << r.log.substr(0, 3000);
    EXPECT_NE(test::slurp(dir_ / "termination-log").find("E_SOURCE_HTTP"), std::string::npos)
        << test::slurp(dir_ / "termination-log");
    EXPECT_FALSE(elsewhere);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    EXPECT_FALSE(fs::exists(done_));
}

// issue 19.5: /info is read and validated first; an oversized one fails before the disk is fetched.
TEST_F(node_pull, an_oversized_info_fails_before_the_disk_is_written) {
    auto side = sidecar("image.raw", [](const test::fault_request&, test::fault_reply& out) {
        const std::string body = R"({"env":[")" + std::string(2u << 20, 'x') + R"("]})";
        out.send(test::fault_http_server::head(200, {{"Content-Length", std::to_string(body.size())}}) + body);
    }, serve_disk());
    auto r = import(side->url("/disk.img"), dir_ / "no-scratch");
    EXPECT_EQ(r.status, 1) << r.log.substr(0, 3000);
    EXPECT_NE(test::slurp(dir_ / "termination-log").find("cannot read the image's labels"), std::string::npos)
        << test::slurp(dir_ / "termination-log");
    EXPECT_FALSE(disk_requested());
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

// issue 19.5: a stalled /info fails within its deadline (10 s), before the disk is fetched.
TEST_F(node_pull, a_stalled_info_fails_within_its_deadline_before_the_disk_is_written) {
    auto side = sidecar("image.raw", [](const test::fault_request&, test::fault_reply& out) {
        out.send(test::fault_http_server::head(200, {{"Content-Length", "1000"}}) + R"({"env":[)");
        out.stall();
    }, serve_disk());
    const auto start = std::chrono::steady_clock::now();
    auto r = import(side->url("/disk.img"), dir_ / "no-scratch");
    EXPECT_EQ(r.status, 1) << r.log.substr(0, 3000);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(40));
    EXPECT_NE(test::slurp(dir_ / "termination-log").find("cannot read the image's labels"), std::string::npos)
        << test::slurp(dir_ / "termination-log");
    EXPECT_FALSE(disk_requested());
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

}  // namespace
}  // namespace cdi
