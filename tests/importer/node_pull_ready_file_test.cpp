// importer/node_pull's ready-file wait: the sidecar's ready file names the disk; when it never comes
// the one failure is errc::timeout in CDI's words, the termination message as is (contract 1.3 step 7).
#include "importer/node_pull.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(await_ready_file, points_the_endpoint_at_the_file_the_ready_file_names) {
    test::temp_dir dir;
    test::write_file(dir / "ready", "fedora 39.img\n", 14);
    importer_config cfg;
    cfg.endpoint = "http://localhost:8100/disk.img";
    cfg.ready_file = dir / "ready";
    cancel_token cancel;
    auto ep = await_ready_file(cfg, cancel);
    ASSERT_TRUE(ep) << ep.error().message();
    EXPECT_EQ(*ep, "http://localhost:8100/fedora%2039.img");
}

TEST(await_ready_file, no_ready_file_is_a_timeout_in_cdis_words) {
    test::temp_dir dir;
    importer_config cfg;
    cfg.endpoint = "http://localhost:8100/disk.img";
    cfg.ready_file = dir / "ready";
    cancel_token cancel;
    cancel.cancel();  // ends the 60 s wait at once, with the same failure
    auto ep = await_ready_file(cfg, cancel);
    ASSERT_FALSE(ep);
    EXPECT_TRUE(ep.error().is(errc::timeout));
    EXPECT_EQ(ep.error().context, "Timeout waiting for file " + (dir / "ready").string());
}

}  // namespace
}  // namespace cdi
