// cdi-importer reading a qcow2 over HTTP whose layout passes more than the decoder's memory window
// before its tables (issue 14): from an origin that takes ranges and names a validator (nginx), the
// tables still far ahead are read with Range requests as soon as the window fills, and what passed
// before them is claimed from memory: no scratch volume, no spill, no data read twice. With a
// checksum (bytes read by position would escape it) the import asks for scratch as before.
#include "support/nginx.hpp"
#include "support/importer_process.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class importer_http_reread_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("qemu-img") || !test::have_tool("nginx")) GTEST_SKIP() << "needs qemu-img and nginx";
        fs::create_directories(data_);
        fs::create_directories(www_);
        // The L1 table moved past 40 MiB of data (512-byte clusters: growing the image to 1 GiB needs
        // a 256 KiB L1, which qemu puts at the end): more than the 32 MiB window passes first.
        const auto raw = dir_ / "big.raw";
        must_run("head -c 40M /dev/urandom > " + q(raw));
        must_run("qemu-img convert -q -f raw -O qcow2 -o cluster_size=512 " + q(raw) + " " + q(image_));
        must_run("qemu-img resize -q " + q(image_) + " 1G");
        must_run("qemu-img convert -f qcow2 -O raw " + q(image_) + " " + q(reference_));
        fs::remove(raw);
        web_ = test::nginx_server::start({.root = www_});
    }

    test::importer_outcome run(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("OWNER_UID", "0f3c-uid");
        env.emplace("IMPORTER_SOURCE", "http");
        env.emplace("IMPORTER_ENDPOINT", web_->url("/l1end.qcow2"));
        return test::run_importer(dir_.path(), env);
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path www_ = dir_ / "www";
    fs::path image_ = www_ / "l1end.qcow2";
    fs::path reference_ = dir_ / "reference.raw";
    std::unique_ptr<test::nginx_server> web_;
};

TEST_F(importer_http_reread_test, reads_tables_far_ahead_with_range_requests_and_needs_no_scratch) {
    auto o = run({});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(must_run("cmp " + q(reference_) + " " + q(data_ / "disk.img") + " && echo same"), "same\n");
    EXPECT_NE(o.log.find(" 0 bytes spilled to scratch"), std::string::npos) << o.log;
    EXPECT_NE(o.log.find(" 0 bytes read again from the origin"), std::string::npos) << o.log;
    EXPECT_EQ(o.log.find(" 0 tables ("), std::string::npos) << o.log;
    std::size_t ranged = 0;
    for (const auto& e : web_->requests_for("/l1end.qcow2")) {
        if (e.range.empty()) continue;
        ++ranged;
        EXPECT_EQ(e.status, 206) << e.range;
    }
    EXPECT_GT(ranged, 1u) << "the L1, then its far L2 tables, in several requests";
}

TEST_F(importer_http_reread_test, with_a_checksum_asks_for_scratch_since_bytes_read_again_would_escape_it) {
    const auto sha = must_run("sha256sum " + q(image_)).substr(0, 64);
    auto o = run({{"IMPORTER_CHECKSUM", "sha256:" + sha}});
    EXPECT_NE(o.message.find(R"("scratchSpaceRequired":true)"), std::string::npos) << o.message << o.log;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    for (const auto& e : web_->requests_for("/l1end.qcow2")) EXPECT_TRUE(e.range.empty()) << e.range;
}

}  // namespace
}  // namespace cdi
