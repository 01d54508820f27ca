// qemu_img against what a hostile image names (issue 12 item 2): no qemu-img call opens a parent
// file or connects to an address an image names, and qemu-img's own error text (host paths,
// addresses) never becomes our message.
#include "convert/qemu_img.hpp"

#include "support/hostile_images.hpp"
#include "support/open_watch.hpp"
#include "support/qemu_img_fixtures.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::fake_qemu_img;
using test::q;

// The image's source argument is json:{"backing":null,...}: check (which opens the whole chain when
// given a plain file name), info and convert never reach the parent a VMDK's parentFileNameHint or a
// qcow2 header names. info still reports the name, for the caller to refuse.
TEST(qemu_img, no_call_connects_to_the_address_a_vmdk_parent_hint_names) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    test::connection_counter listener;
    const std::string parent = "nbd://127.0.0.1:" + std::to_string(listener.port());
    const auto img = test::hostile::vmdk_patched_descriptor(dir.path(), "parentCID=ffffffff",
                                                            "parentCID=ffffffff\nparentFileNameHint=\"" + parent + "\"");
    const qemu_img tool;
    auto checked = tool.check(img, "vmdk");
    EXPECT_TRUE(checked) << checked.error().message();
    auto info = tool.info(img, "vmdk");
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->backing_filename, parent);
    auto converted = tool.convert(img, "vmdk", dir / "out.raw", {});
    EXPECT_TRUE(converted) << converted.error().message();
    std::this_thread::sleep_for(200ms);  // a connection qemu-img made is in the backlog by now
    EXPECT_EQ(listener.count(), 0);
}

TEST(qemu_img, no_call_opens_the_host_file_a_parent_names) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const fs::path victim = dir / "victim.raw";
    test::must_run("truncate -s 4M " + q(victim));
    const auto vmdk = test::hostile::vmdk_patched_descriptor(dir.path(), "parentCID=ffffffff",
                                                             "parentCID=ffffffff\nparentFileNameHint=\"" + victim.string() + "\"");
    test::must_run("qemu-img create -q -f qcow2 -b " + q(victim) + " -F raw " + q(dir / "child.qcow2") + " 4M");
    test::open_watch watch(victim);
    const qemu_img tool;
    for (const auto& [img, fmt] : {std::pair{vmdk, "vmdk"}, std::pair{dir / "child.qcow2", "qcow2"}}) {
        auto checked = tool.check(img, fmt);
        EXPECT_TRUE(checked) << fmt << ": " << checked.error().message();
        auto info = tool.info(img, fmt);
        ASSERT_TRUE(info) << fmt << ": " << info.error().message();
        EXPECT_EQ(info->backing_filename, victim.string()) << fmt;
        auto converted = tool.convert(img, fmt, dir / (std::string(fmt) + ".raw"), {});
        EXPECT_TRUE(converted) << fmt << ": " << converted.error().message();
    }
    EXPECT_EQ(watch.count(), 0);
}

// qemu-img's stderr can name host paths and addresses: the message carries our words and the exit
// status only.
TEST(qemu_img, info_and_check_failures_carry_no_qemu_text) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "stderr-names-address.sh");
    const qemu_img tool(bin.string());
    auto info = tool.info(dir / "x.vmdk", "vmdk");
    ASSERT_FALSE(info);
    EXPECT_TRUE(info.error().is(errc::corrupt_image));
    EXPECT_EQ(info.error().context, "qemu-img info -f vmdk could not open the image: exit status 1");
    auto checked = tool.check(dir / "x.vmdk", "vmdk");
    ASSERT_FALSE(checked);
    EXPECT_TRUE(checked.error().is(errc::corrupt_image));
    EXPECT_EQ(checked.error().context, "qemu-img check -f vmdk could not check the image: exit status 1");
}

}  // namespace
}  // namespace cdi
