// open_target: the one way import_job and clone_job open their target.
#include "convert/target_volume.hpp"

#include "support/test_env.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace cdi::test {
namespace {

const target_options opts{.capacity = 1 << 20, .preallocate = false, .direct_io = true};

TEST(open_target, a_file_target_replaces_what_was_there_with_a_fresh_empty_0660_file) {
    temp_dir dir;
    const auto path = dir / "disk.img";
    write_file(path, "old contents", 12);
    ::chmod(path.c_str(), 0600);

    auto t = open_target(path, false, opts);
    ASSERT_TRUE(t) << t.error().message();
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0660u);  // whatever the umask
    EXPECT_EQ((*t)->path(), path);
}

TEST(open_target, a_symlink_at_a_file_target_is_replaced_and_what_it_names_is_untouched) {
    temp_dir dir;
    const auto victim = dir / "victim";
    write_file(victim, "keep", 4);
    const auto path = dir / "disk.img";
    ASSERT_EQ(::symlink(victim.c_str(), path.c_str()), 0);

    auto t = open_target(path, false, opts);
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_FALSE(fs::is_symlink(path));
    EXPECT_EQ(read_file(victim), (std::vector<char>{'k', 'e', 'e', 'p'}));
}

TEST(open_target, a_block_target_that_is_a_regular_file_is_refused_and_left_untouched) {
    temp_dir dir;
    const auto path = dir / "not-a-device";
    write_file(path, "data", 4);

    auto t = open_target(path, true, opts);
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(errc::bad_request)) << t.error().message();
    EXPECT_EQ(read_file(path), (std::vector<char>{'d', 'a', 't', 'a'}));
}

TEST(open_target, a_block_target_that_is_a_symlink_is_refused_not_followed) {
    temp_dir dir;
    const auto path = dir / "link";
    ASSERT_EQ(::symlink("/dev/null", path.c_str()), 0);

    auto t = open_target(path, true, opts);
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(errc::bad_request)) << t.error().message();
    EXPECT_TRUE(fs::is_symlink(path));
}

}  // namespace
}  // namespace cdi::test
