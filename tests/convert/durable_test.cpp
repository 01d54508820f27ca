// make_durable: the finished target gets its mode and its fsyncs through one descriptor that never
// follows a symlink swapped in at the target's path.
#include "convert/durable.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;

TEST(make_durable, gives_a_regular_file_its_mode) {
    test::temp_dir dir;
    const auto f = dir / "disk.img";
    test::write_file(f, "data", 4);
    fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
    ASSERT_TRUE(make_durable(f, 0660));
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST(make_durable, refuses_a_symlink_at_the_path_and_leaves_its_target_alone) {
    test::temp_dir dir;
    const auto victim = dir / "elsewhere";
    test::write_file(victim, "keep", 4);
    fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
    fs::create_symlink(victim, dir / "disk.img");
    auto r = make_durable(dir / "disk.img", 0660);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io)) << r.error().message();
    struct stat st {};
    ASSERT_EQ(::stat(victim.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << "the symlink's target must not be chmodded";
}

}  // namespace
}  // namespace cdi
