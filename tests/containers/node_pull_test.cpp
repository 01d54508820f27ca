// A registry node pull end to end (contract 1.7): the static cdi-containerimage-server serving an
// image directory, and the real cdi-importer with the environment CDI's controller gives it
// (IMPORTER_SOURCE=http, IMPORTER_PULL_METHOD=node, the ready and done files).
#include "containers/image_server_fixture.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;

class node_pull : public test::image_server_fixture {
protected:
    // scratch: an existing directory, or a missing path (no scratch space, as for a raw image).
    test::command_result import(const std::string& endpoint, const fs::path& scratch) {
        std::map<std::string, std::string> env = {
            {"CDI_DATA_DIR", data_.string()},
            {"CDI_SCRATCH_DIR", scratch.string()},
            {"CDI_BLOCK_DEVICE", (dir_ / "no-block").string()},
            {"CDI_TERMINATION_LOG", (dir_ / "termination-log").string()},
            {"CDI_PROXY_CERT_DIR", (dir_ / "no-proxycerts").string()},
            {"CDI_EXTRA_HEADERS_DIR", (dir_ / "no-extraheaders").string()},
            {"CDI_METRICS_PORT", "0"},
            {"IMPORTER_CONTENTTYPE", "kubevirt"},
            {"OWNER_UID", "0f3c-uid"},
            {"IMPORTER_SOURCE", "http"},
            {"IMPORTER_PULL_METHOD", "node"},
            {"IMPORTER_ENDPOINT", endpoint},
            {"IMPORTER_READY_FILE", ready_.string()},
            {"IMPORTER_DONE_FILE", done_.string()},
        };
        std::string cmd = "env -i PATH=\"$PATH\"";
        for (const auto& [k, v] : env) cmd += " " + k + "='" + v + "'";
        return test::run_command(cmd + " " CDI_BINARY_DIR "/importer/cdi-importer -v=3 -alsologtostderr");
    }

    fs::path data_ = dir_ / "data";
};

TEST_F(node_pull, the_importer_pulls_the_served_image_takes_labels_from_info_and_stops_the_server) {
    fs::create_directories(data_);
    fs::rename(disk_ / "disk.img", disk_ / "image.raw");  // the importer swaps the endpoint's disk.img for the ready file's name
    auto& server = start({{"KUBEVIRT_IO_TEST", "x"}, {"INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE", "u1.small"}});
    auto r = import("http://localhost:" + std::to_string(port_) + "/disk.img", dir_ / "no-scratch");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(test::slurp_text(data_ / "disk.img") == image_);
    EXPECT_EQ(test::slurp_text(dir_ / "termination-log"),
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
    ASSERT_EQ(r.status, 0) << test::slurp_text(dir_ / "termination-log");
    EXPECT_TRUE(test::slurp_text(data_ / "disk.img") == image_);
    EXPECT_EQ(test::slurp_text(dir_ / "termination-log"),
              R"({"scratchSpaceRequired":false,"preallocationApplied":false,)"
              R"("labels":{"kubevirt.io/test":"x"},"message":"Import Complete"})");
    EXPECT_NE(r.output.find("label kubevirt.io/huge dropped"), std::string::npos) << r.output.substr(0, 2000);
    EXPECT_TRUE(fs::exists(done_));
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

// CDI converts a node-pulled qcow2 straight from nbdkit-curl; our importer stages it in scratch, as
// for any HTTP qcow2 (with no scratch it asks for scratch space, and the controller retries with it).
TEST_F(node_pull, a_qcow2_image_is_staged_in_scratch_and_converted) {
    CDI_REQUIRE_TOOL("qemu-img");
    fs::create_directories(data_);
    fs::create_directories(dir_ / "scratch");
    const fs::path raw = dir_ / "source.raw";
    fs::rename(disk_ / "disk.img", raw);
    test::must_run("qemu-img convert -f raw -O qcow2 '" + raw.string() + "' '" + (disk_ / "disk.qcow2").string() + "'");
    auto& server = start({{"KUBEVIRT_IO_TEST", "x"}});
    auto r = import("http://localhost:" + std::to_string(port_) + "/disk.img", dir_ / "scratch");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(test::slurp_text(data_ / "disk.img") == image_) << test::slurp_text(dir_ / "termination-log");
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

}  // namespace
}  // namespace cdi
