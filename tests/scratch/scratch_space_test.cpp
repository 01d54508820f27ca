// scratch_space and scratch_file: presence test (contract section 8), fit check, staged files removed
// by RAII and by the signal-safe registry.
#include "scratch/scratch_space.hpp"

#include "support/test_env.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& p) {
    std::ofstream(p) << "data";
}

TEST(scratch_space, missing_directory_means_scratch_required) {
    auto s = scratch_space::open(fs::path("/nonexistent/scratch"));
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::scratch_required));
    EXPECT_NE(s.error().context.find("/nonexistent/scratch"), std::string::npos);
}

TEST(scratch_space, no_scratch_volume_means_scratch_required) {
    auto s = scratch_space::open(std::nullopt);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::scratch_required));
}

TEST(scratch_space, full_scratch_volume_is_no_space_not_scratch_required) {
    // Found by faults/enospc_runs.py: a full scratch answered "scratch space required", which makes
    // CDI's controller re-create the pod with the same full scratch volume.
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts a tmpfs)";
    test::temp_dir dir;
    const auto mnt = dir.path() / "scratch";
    fs::create_directory(mnt);
    ASSERT_EQ(test::run_command("mount -t tmpfs -o size=64k tmpfs " + mnt.string()).status, 0);
    test::run_command("dd if=/dev/zero of=" + (mnt / "fill").string() + " bs=4k status=none");  // until ENOSPC
    auto s = scratch_space::open(mnt);
    test::run_command("umount " + mnt.string());
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::no_space)) << s.error().message();
}

TEST(scratch_space, opens_a_directory_with_free_space) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->dir(), dir.path());
    EXPECT_GT(s->available(), 0u);
}

TEST(scratch_space, check_fits_fails_fast_when_the_image_cannot_fit) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->check_fits(1024 * 1024));
    auto r = s->check_fits(std::numeric_limits<std::uint64_t>::max());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::no_space));
    EXPECT_NE(r.error().context.find("bytes free, the image needs 18446744073709551615"), std::string::npos)
        << r.error().context;
}

TEST(scratch_space, staged_file_is_removed_by_its_destructor) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    fs::path p;
    {
        auto f = s->stage("tmpimage");
        ASSERT_TRUE(f) << f.error().message();
        p = f->path();
        EXPECT_EQ(p, dir.path() / "tmpimage");
        EXPECT_FALSE(fs::exists(p));  // staging names the file; the writer creates it
        touch(p);
        ASSERT_TRUE(fs::exists(p));
    }
    EXPECT_FALSE(fs::exists(p));
}

TEST(scratch_space, stage_removes_a_stale_file_and_directory) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    touch(dir.path() / "tmpimage");
    auto f = s->stage("tmpimage");
    ASSERT_TRUE(f);
    EXPECT_FALSE(fs::exists(dir.path() / "tmpimage"));

    fs::create_directories(dir.path() / "disk" / "sub");
    touch(dir.path() / "disk" / "sub" / "x");
    auto d = s->stage("disk");
    ASSERT_TRUE(d);
    EXPECT_FALSE(fs::exists(dir.path() / "disk"));
}

TEST(scratch_space, stage_removes_a_stale_symlink_not_its_target) {
    test::temp_dir dir;
    test::temp_dir elsewhere;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    touch(elsewhere.path() / "precious");
    fs::create_directory_symlink(elsewhere.path(), dir.path() / "tmpimage");
    auto f = s->stage("tmpimage");
    ASSERT_TRUE(f);
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() / "tmpimage")));
    EXPECT_TRUE(fs::exists(elsewhere.path() / "precious"));
}

TEST(scratch_space, stage_rejects_names_that_leave_the_directory) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    for (std::string_view bad : {"", ".", "..", "../x", "a/b", "/etc/passwd"}) {
        auto f = s->stage(bad);
        ASSERT_FALSE(f) << bad;
        EXPECT_TRUE(f.error().is(errc::bad_request)) << bad;
    }
}

TEST(scratch_file, moved_from_object_removes_nothing) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    auto f = s->stage("tmpimage");
    ASSERT_TRUE(f);
    touch(f->path());
    {
        scratch_file moved(std::move(*f));
        { scratch_file gone(std::move(*f)); }  // destroying a moved-from object
        EXPECT_TRUE(fs::exists(dir.path() / "tmpimage"));
    }
    EXPECT_FALSE(fs::exists(dir.path() / "tmpimage"));
}

TEST(scratch_file, remove_all_registered_unlinks_live_files) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    auto a = s->stage("a");
    auto b = s->stage("b");
    ASSERT_TRUE(a && b);
    touch(a->path());
    touch(b->path());
    touch(dir.path() / "unrelated");
    scratch_file::remove_all_registered();
    EXPECT_FALSE(fs::exists(a->path()));
    EXPECT_FALSE(fs::exists(b->path()));
    EXPECT_TRUE(fs::exists(dir.path() / "unrelated"));
}

TEST(scratch_file, released_files_leave_the_registry) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    { auto gone = s->stage("old"); }
    touch(dir.path() / "old");  // the name reused by someone else after the scratch_file died
    scratch_file::remove_all_registered();
    EXPECT_TRUE(fs::exists(dir.path() / "old"));
}

TEST(scratch_file, registry_has_a_fixed_capacity) {
    test::temp_dir dir;
    auto s = scratch_space::open(dir.path());
    ASSERT_TRUE(s);
    std::vector<scratch_file> files;
    for (std::size_t i = 0; i < scratch_file::max_registered; ++i) {
        auto f = s->stage("f" + std::to_string(i));
        ASSERT_TRUE(f) << i << ": " << f.error().message();
        files.push_back(std::move(*f));
    }
    auto extra = s->stage("extra");
    ASSERT_FALSE(extra);
    EXPECT_TRUE(extra.error().is(errc::io));
    files.pop_back();
    EXPECT_TRUE(s->stage("extra"));
}

extern "C" void remove_scratch_and_exit(int) {
    scratch_file::remove_all_registered();
    ::_exit(0);
}

TEST(scratch_file, sigterm_handler_removes_staged_files) {
    test::temp_dir dir;
    const fs::path staged = dir.path() / "tmpimage";
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        struct sigaction sa {};
        sa.sa_handler = remove_scratch_and_exit;
        ::sigaction(SIGTERM, &sa, nullptr);
        auto s = scratch_space::open(dir.path());
        if (!s) ::_exit(2);
        auto f = s->stage("tmpimage");
        if (!f) ::_exit(3);
        touch(f->path());
        (void)!::write(ready[1], "x", 1);
        for (;;) ::pause();  // the destructor never runs: only the handler can clean up
    }
    ::close(ready[1]);
    char c = 0;
    ASSERT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
    ASSERT_TRUE(fs::exists(staged));
    ::kill(child, SIGTERM);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_FALSE(fs::exists(staged));
}

}  // namespace
}  // namespace cdi
