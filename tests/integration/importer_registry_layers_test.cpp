// cdi-importer against a real registry (docker-registry) holding hostile layer lists (issue 19.2):
// one layer listed a thousand times is fetched once, and an image of more distinct layers than a
// runtime can stack is refused before any blob is fetched. Blob GETs are counted in the registry's
// access log.
#include "support/docker_registry.hpp"
#include "support/importer_process.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::docker_registry;
using test::must_run;
using test::q;

class importer_registry_layers_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("docker-registry") || !test::have_tool("skopeo")) GTEST_SKIP() << "needs docker-registry and skopeo";
        fs::create_directories(work_ / "data");
        fs::create_directories(work_ / "scratch");
    }

    // Builds the image from its layers' JSON and pushes it as cdi/<name>:v1.
    void push(docker_registry& reg, const std::string& name, const std::string& layers) {
        const auto spec = R"({"tag":"latest","images":[{"architecture":"amd64","os":"linux","layers":[)" + layers + "]}]}";
        test::write_file(work_ / (name + ".spec"), spec.data(), spec.size());
        test::build_oci_layout(work_ / (name + ".spec"), work_ / name);
        reg.push_verbatim(work_ / name, "cdi/" + name + ":v1");
    }

    test::importer_outcome run(const docker_registry& reg, const std::string& name) {
        return test::run_importer(work_.path(), {{"IMPORTER_SOURCE", "registry"},
                                                 {"IMPORTER_CONTENTTYPE", "kubevirt"},
                                                 {"IMPORTER_IMAGE_SIZE", "2Mi"},
                                                 {"IMPORTER_ENDPOINT", reg.endpoint("cdi/" + name + ":v1")},
                                                 {"INSECURE_TLS", "true"}});
    }

    // GETs of blobs of cdi/<name> in the registry's access log, by digest.
    static std::map<std::string, int> blob_gets(const docker_registry& reg, const std::string& name) {
        std::map<std::string, int> out;
        const std::string log = reg.log();
        const std::string needle = "\"GET /v2/cdi/" + name + "/blobs/";
        for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
            const auto start = at + needle.size();
            ++out[log.substr(start, log.find(' ', start) - start)];
        }
        return out;
    }

    test::temp_dir work_;
};

TEST_F(importer_registry_layers_test, a_layer_listed_a_thousand_times_is_fetched_once) {
    must_run("head -c 1M /dev/urandom > " + q(work_ / "disk.raw"));
    auto reg = docker_registry::start({});
    push(*reg, "repeat", R"({"repeat":1000,"compression":"gzip","entries":[{"path":"disk/","type":"dir"},)"
                         R"({"path":"disk/disk.img","type":"file","source":")" + (work_ / "disk.raw").string() + R"("}]})");
    const auto started = std::chrono::steady_clock::now();
    auto o = run(*reg, "repeat");
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_EQ(o.status, 0) << o.log;
    auto expected = test::read_file(work_ / "disk.raw");
    expected.resize(2 << 20);
    EXPECT_EQ(test::read_file(work_ / "data/disk.img"), expected);
    const auto gets = blob_gets(*reg, "repeat");
    ASSERT_EQ(gets.size(), 2u) << reg->log();  // the config and the layer
    for (const auto& [digest, n] : gets) EXPECT_EQ(n, 1) << digest;
    std::printf("import of 1000 copies of a 1 MiB layer: %.2f s\n", took);
}

TEST_F(importer_registry_layers_test, more_than_127_distinct_layers_are_refused_before_any_blob_is_fetched) {
    auto reg = docker_registry::start({});
    std::string layers = R"({"compression":"gzip","entries":[{"path":"disk/disk.img","type":"file","content":"disk"}]})";
    for (int i = 0; i < 127; ++i)
        layers += R"(,{"compression":"none","entries":[{"path":"etc/f)" + std::to_string(i) + R"(","type":"file","content":"x"}]})";
    push(*reg, "deep", layers);
    auto o = run(*reg, "deep");
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_BAD_IMAGE"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("128 distinct layers, more than 127"), std::string::npos) << o.message;
    EXPECT_TRUE(blob_gets(*reg, "deep").empty()) << reg->log();
    EXPECT_FALSE(fs::exists(work_ / "data/disk.img"));
}

}  // namespace
}  // namespace cdi
