#include "importer/archive/tar_extractor.hpp"

#include "support/hostile_tars.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

namespace cdi {
namespace {

using test::bytes;
using test::must_run;
using test::read_file_bytes;
using test::scripted_source;
namespace fs = std::filesystem;

constexpr std::uint64_t big_capacity = std::uint64_t{1} << 30;

// A temp dir holding the archive and root/dest, so anything escaping dest lands in root.
struct fixture {
    test::temp_dir tmp;
    fs::path root = tmp / "root";
    fs::path dest = root / "dest";
    fs::path tar = tmp / "a.tar";
    fixture() { fs::create_directories(dest); }
    result<extract_result> extract(std::size_t chunk = SIZE_MAX, std::uint64_t capacity = big_capacity,
                                   std::size_t fail_at = 0) {
        scripted_source src(read_file_bytes(tar), chunk, fail_at);
        return extract_tar(src, dest, extract_options{capacity}, nullptr);
    }
    // dest empty and nothing else appeared next to it.
    void expect_untouched() const {
        EXPECT_EQ(test::count_entries(dest), 0u) << must_run("find '" + dest.string() + "'");
        EXPECT_EQ(test::count_entries(root), 1u) << must_run("find '" + root.string() + "'");
    }
};

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

TEST(extract_tar, round_trips_a_gnu_tar_tree) {
    fixture f;
    const fs::path src = f.tmp / "src";
    fs::create_directories(src / "a" / "b" / "c");
    auto data = test::random_bytes(300 * 1024);
    test::write_file(src / "a" / "b" / "c" / "data.bin", data.data(), data.size());
    test::write_file(src / "empty", "", 0);
    test::write_file(src / "a" / "script.sh", "#!/bin/sh\n", 10);
    must_run("cd '" + src.string() + "' && chmod 0600 empty && chmod 0755 a/script.sh && chmod 0750 a/b"
             " && ln -s b/c/data.bin a/link && ln a/script.sh hard.sh");
    must_run("tar -C '" + src.string() + "' -cf '" + f.tar.string() + "' .");

    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->files, 3u);  // data.bin, empty, script.sh; hard.sh is a link, not counted
    EXPECT_EQ(r->bytes, data.size() + 10);
    must_run("diff -r --no-dereference '" + src.string() + "' '" + f.dest.string() + "'");
    EXPECT_EQ(mode_of(f.dest / "empty"), 0600u);
    EXPECT_EQ(mode_of(f.dest / "a" / "script.sh"), 0755u);
    EXPECT_EQ(mode_of(f.dest / "a" / "b"), 0750u);
    EXPECT_EQ(fs::read_symlink(f.dest / "a" / "link"), "b/c/data.bin");
    EXPECT_TRUE(fs::equivalent(f.dest / "a" / "script.sh", f.dest / "hard.sh"));
    EXPECT_EQ(fs::file_size(f.dest / "empty"), 0u);
}

TEST(extract_tar, writes_gnu_sparse_members_as_holes) {
    fixture f;
    const fs::path src = f.tmp / "src";
    fs::create_directories(src);
    test::make_sparse_file(src / "disk.img", 8 << 20, {1 << 20, 5 << 20});
    must_run("tar -S -C '" + src.string() + "' -cf '" + f.tar.string() + "' disk.img");

    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->bytes, 2u * 4096);
    must_run("cmp '" + (src / "disk.img").string() + "' '" + (f.dest / "disk.img").string() + "'");
    EXPECT_LT(test::allocated_bytes(f.dest / "disk.img"), 1u << 20);
}

TEST(extract_tar, extracts_pax_archives_with_long_names_and_sparse_members) {
    fixture f;
    const fs::path src = f.tmp / "src";
    const std::string long_dir(150, 'd');
    fs::create_directories(src / long_dir);
    test::make_sparse_file(src / long_dir / "disk.img", 4 << 20, {0, 3 << 20});
    must_run("tar --format=pax -S -C '" + src.string() + "' -cf '" + f.tar.string() + "' .");

    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    must_run("diff -r '" + src.string() + "' '" + f.dest.string() + "'");
    EXPECT_LT(test::allocated_bytes(f.dest / long_dir / "disk.img"), 1u << 20);
}

TEST(extract_tar, reads_one_byte_upstream_chunks) {
    fixture f;
    test::python_tar(f.tar, "dir('d')\nreg('d/f', b'x' * 3000)\nsym('d/l', 'f')");
    auto r = f.extract(1);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::file_size(f.dest / "d" / "f"), 3000u);
    EXPECT_EQ(fs::read_symlink(f.dest / "d" / "l"), "f");
}

struct hostile_case {
    const char* label;
    std::string body;       // python_tar statements after a few benign entries
    const char* expect;     // substring of the error context: the entry named
};

class extract_tar_hostile : public ::testing::TestWithParam<hostile_case> {};

TEST_P(extract_tar_hostile, refuses_entry_and_leaves_dest_empty) {
    fixture f;
    const auto& c = GetParam();
    std::string body = c.body;
    const std::string marker = "@ROOT@";  // the fixture's root dir, for absolute targets
    for (auto pos = body.find(marker); pos != std::string::npos; pos = body.find(marker)) {
        body.replace(pos, marker.size(), f.root.string());
    }
    test::python_tar(f.tar, "dir('pre')\nreg('pre/a', b'hello')\nsym('pre/l', 'a')\n" + body);
    auto r = f.extract();
    ASSERT_FALSE(r) << c.label;
    EXPECT_TRUE(r.error().is(errc::archive_unsafe_entry)) << r.error().message();
    EXPECT_NE(r.error().context.find(c.expect), std::string::npos) << r.error().message();
    f.expect_untouched();
    EXPECT_FALSE(fs::exists(fs::path("/etc/passwd-cdi-test")));
}

INSTANTIATE_TEST_SUITE_P(
    e1_to_e4, extract_tar_hostile,
    ::testing::Values(
        hostile_case{"dotdot", "reg('../x', b'pwned')", "archive entry \"../x\" escapes the target directory"},
        hostile_case{"inner dotdot", "reg('a/../../x', b'pwned')", "\"a/../../x\" escapes"},
        hostile_case{"dot dotdot", "reg('./../x', b'pwned')", "\"./../x\" escapes"},
        hostile_case{"absolute", "reg('@ROOT@/pwned_abs', b'pwned')", "is an absolute path"},
        hostile_case{"absolute symlink", "sym('passwd', '/etc/passwd')", "\"passwd\" is a symlink to the absolute path \"/etc/passwd\""},
        hostile_case{"escaping symlink", "dir('a')\nsym('a/l', '../../x')", "\"a/l\" is a symlink to \"../../x\", outside"},
        hostile_case{"symlink through a symlink", "dir('a/b/c')\nsym('a/b/c/x', '../../..')\nsym('a/b/c/y', 'x/..')",
                     "\"a/b/c/y\" is a symlink to \"x/..\""},
        hostile_case{"write through symlink inside", "dir('sub')\nsym('l', 'sub')\nreg('l/f', b'x')",
                     "\"l/f\" would be written through the symlink \"l\""},
        hostile_case{"write through symlink outside", "sym('out', '@ROOT@')\nreg('out/pwned', b'x')",
                     "\"out\" is a symlink to the absolute path"},
        hostile_case{"hard link absolute", "hard('h', '/etc/passwd')", "\"h\" is a hard link to the absolute path \"/etc/passwd\""},
        hostile_case{"hard link dotdot", "hard('h', '../x')", "\"h\" is a hard link to \"../x\", outside"},
        hostile_case{"hard link missing", "hard('h', 'nothere')", "\"h\" is a hard link to \"nothere\", which is not a file"},
        hostile_case{"hard link to symlink", "hard('h', 'pre/l')", "\"h\" is a hard link to \"pre/l\", which is not a file"},
        hostile_case{"char device", "chr('null', 1, 3)", "\"null\" is a character device"},
        hostile_case{"block device", "blk('sda', 8, 0)", "\"sda\" is a block device"},
        hostile_case{"fifo", "fifo('pipe')", "\"pipe\" is a FIFO"},
        hostile_case{"setuid", "reg('su', b'#!/bin/sh', 0o4755)", "\"su\" has the setuid bit"},
        hostile_case{"setgid", "reg('sg', b'#!/bin/sh', 0o2755)", "\"sg\" has the setgid bit"}),
    [](const auto& p) {
        std::string n = p.param.label;
        for (auto& ch : n) if (ch == ' ') ch = '_';
        return n;
    });

TEST(extract_tar, keeps_existing_content_on_failure) {
    fixture f;
    fs::create_directories(f.dest / "keep");
    test::write_file(f.dest / "keep" / "old", "old", 3);
    test::python_tar(f.tar, "dir('keep')\nreg('keep/new', b'n')\nreg('top', b't')\nfifo('keep/p')");
    auto r = f.extract();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::archive_unsafe_entry));
    EXPECT_EQ(test::count_entries(f.dest), 2u);
    EXPECT_TRUE(fs::exists(f.dest / "keep" / "old"));
}

TEST(extract_tar, replaces_existing_files_and_symlinks_without_following_them) {
    fixture f;
    test::write_file(f.root / "victim", "secret", 6);
    fs::create_symlink(f.root / "victim", f.dest / "f");  // e.g. left by an earlier attempt
    test::write_file(f.dest / "g", "old", 3);
    test::python_tar(f.tar, "reg('f', b'new')\nreg('g', b'newer')");
    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(fs::is_symlink(f.dest / "f"));
    EXPECT_EQ(fs::file_size(f.dest / "f"), 3u);
    EXPECT_EQ(fs::file_size(f.dest / "g"), 5u);
    EXPECT_EQ(fs::file_size(f.root / "victim"), 6u);
}

TEST(extract_tar, extracts_non_ascii_pax_names_in_the_c_locale) {
    fixture f;
    test::python_tar(f.tar, "dir('caf\\u00e9')\nreg('caf\\u00e9/\\u00fc.txt', b'x')", "PAX_FORMAT");
    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(fs::exists(f.dest / "caf\xc3\xa9" / "\xc3\xbc.txt")) << must_run("find '" + f.dest.string() + "'");
}

TEST(extract_tar, refuses_to_write_through_a_symlink_already_in_dest) {
    fixture f;
    fs::create_directories(f.root / "elsewhere");
    fs::create_directory_symlink(f.root / "elsewhere", f.dest / "s");
    test::python_tar(f.tar, "reg('s/x', b'pwned')");
    auto r = f.extract();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::archive_unsafe_entry)) << r.error().message();
    EXPECT_NE(r.error().context.find("\"s/x\" would be written through the symlink \"s\""), std::string::npos)
        << r.error().message();
    EXPECT_TRUE(fs::is_empty(f.root / "elsewhere"));
    EXPECT_TRUE(fs::is_symlink(f.dest / "s"));
}

TEST(extract_tar, drops_sticky_and_setgid_bits_of_directories) {
    fixture f;
    test::python_tar(f.tar, "dir('shared', 0o3775)\nreg('shared/f', b'x', 0o1640)");
    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(mode_of(f.dest / "shared"), 0775u);
    EXPECT_EQ(mode_of(f.dest / "shared" / "f"), 0640u);
}

TEST(extract_tar, rejects_a_stream_that_is_not_a_tar) {
    fixture f;
    auto junk = test::random_bytes(64 * 1024, 7);
    test::write_file(f.tar, junk.data(), junk.size());
    auto r = f.extract();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_image)) << r.error().message();
    EXPECT_EQ(r.error().context.rfind("not a tar archive: ", 0), 0u) << r.error().message();
    f.expect_untouched();
}

TEST(extract_tar, rejects_an_empty_stream) {
    fixture f;
    test::write_file(f.tar, "", 0);
    auto r = f.extract();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_image)) << r.error().message();
}

TEST(extract_tar, accepts_an_archive_without_entries) {
    fixture f;
    must_run("tar -cf '" + f.tar.string() + "' -T /dev/null");
    auto r = f.extract();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->files, 0u);
}

TEST(extract_tar, reports_truncation_inside_an_entry) {
    fixture f;
    auto data = test::random_bytes(100 * 1024);
    test::write_file(f.tmp / "big", data.data(), data.size());
    must_run("tar -C '" + f.tmp.path().string() + "' -cf '" + f.tar.string() + "' big && truncate -s 51200 '" +
             f.tar.string() + "'");
    auto r = f.extract(4096);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_image)) << r.error().message();  // the archive is short, not its carrier
    EXPECT_NE(r.error().context.find("tar archive ends early"), std::string::npos) << r.error().message();
    f.expect_untouched();
}

TEST(extract_tar, refuses_file_data_over_capacity) {
    fixture f;
    test::python_tar(f.tar, "reg('a', b'x' * 6000)\nreg('b', b'y' * 6000)");
    auto r = f.extract(SIZE_MAX, 10000);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_NE(r.error().context.find("larger than the reported available storage"), std::string::npos);
    f.expect_untouched();
    auto ok = f.extract(SIZE_MAX, 12000);
    EXPECT_TRUE(ok) << ok.error().message();
}

// Issue 12.7: a few KiB of GNU sparse tar must not create a 1 TiB file on a 64 MiB volume. The
// real size counts, as zeros count for disk images, and the refusal comes before anything is written.
TEST(extract_tar, refuses_a_sparse_member_whose_real_size_is_over_capacity) {
    fixture f;
    const fs::path src = f.tmp / "src";
    fs::create_directories(src);
    test::make_sparse_file(src / "huge.img", std::uint64_t{1} << 40, {0, 5 << 20});
    must_run("tar --sparse -C '" + src.string() + "' -cf '" + f.tar.string() + "' huge.img");
    ASSERT_LT(fs::file_size(f.tar), 64u << 10) << "GNU tar did not store the member as sparse";

    auto r = f.extract(SIZE_MAX, 64u << 20);
    ASSERT_FALSE(r) << "a 1 TiB file was extracted into a 64 MiB capacity";
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_NE(r.error().context.find("is larger than the reported available storage"), std::string::npos);
    f.expect_untouched();
}

TEST(extract_tar, counts_the_holes_of_sparse_members_against_capacity) {
    fixture f;
    const fs::path src = f.tmp / "src";
    fs::create_directories(src);
    test::make_sparse_file(src / "a.img", 8 << 20, {1 << 20});  // 4 KiB of data, 8 MiB long
    test::make_sparse_file(src / "b.img", 8 << 20, {0});
    must_run("tar -S -C '" + src.string() + "' -cf '" + f.tar.string() + "' a.img b.img");
    auto r = f.extract(SIZE_MAX, (16u << 20) - 1);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_NE(r.error().context.find("b.img"), std::string::npos) << r.error().context;
    f.expect_untouched();
    auto ok = f.extract(SIZE_MAX, 16u << 20);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->bytes, 2u * 4096);
}

TEST(extract_tar, refuses_more_entries_than_allowed) {
    fixture f;
    test::python_tar(f.tar, "for i in range(20): reg('f%d' % i)");
    scripted_source src(read_file_bytes(f.tar));
    extract_options opts{big_capacity};
    opts.max_entries = 10;
    auto r = extract_tar(src, f.dest, opts);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    f.expect_untouched();
}

TEST(extract_tar, passes_upstream_faults_through_at_every_read) {
    fixture f;
    test::python_tar(f.tar, "dir('d', 0o555)\nreg('d/a', b'a' * 20000)\nreg('d/b', b'b' * 20000)");
    const std::size_t reads = (fs::file_size(f.tar) + 4095) / 4096 + 1;
    for (std::size_t n = 1; n <= reads; ++n) {
        auto r = f.extract(4096, big_capacity, n);
        ASSERT_FALSE(r) << "fault at read " << n;
        EXPECT_TRUE(r.error().is(errc::io)) << r.error().message();
        EXPECT_EQ(r.error().context, "injected read fault");
        f.expect_untouched();
    }
}

TEST(extract_tar, stops_when_canceled) {
    fixture f;
    test::python_tar(f.tar, "reg('a', b'x')");
    scripted_source src(read_file_bytes(f.tar));
    cancel_token cancel;
    cancel.cancel();
    auto r = extract_tar(src, f.dest, extract_options{big_capacity}, &cancel);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::canceled));
    f.expect_untouched();
}

}  // namespace
}  // namespace cdi
