// The filesystem-clone payload (cloner/tree_stream): decoded by the independent python framing
// decoder, then read by GNU tar (`tar -tvS`, `tar -xS`), as CDI's target would; sparse members only
// without preallocation; lost+found left out; the estimate (cloner/volume_size) as du computes it.
#include "cloner/tree_stream.hpp"
#include "cloner/volume_size.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

class tree_stream_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("tar")) GTEST_SKIP() << "needs GNU tar";
        fs::create_directories(src_ / "dir" / "empty");
        fs::create_directories(src_ / "lost+found");
        must_run("echo lost > " + q(src_ / "lost+found" / "x"));
        must_run("truncate -s 8M " + q(src_ / "disk.img"));
        for (int mib : {0, 4}) {
            must_run("head -c 65536 /dev/urandom | dd of=" + q(src_ / "disk.img") + " bs=1M seek=" + std::to_string(mib) +
                     " conv=notrunc status=none");
        }
        must_run("echo hello > " + q(src_ / "dir" / "file") + " && chmod 0640 " + q(src_ / "dir" / "file"));
        must_run("ln " + q(src_ / "dir" / "file") + " " + q(src_ / "dir" / "hard"));
        must_run("ln -s dir/file " + q(src_ / "link"));
        must_run("chmod 0750 " + q(src_ / "dir" / "empty"));
        must_run("touch " + q(src_ / ("long-" + std::string(150, 'n'))));
    }

    // The tree's stream as the target receives it, decoded by the python decoder.
    fs::path stream(bool sparse) {
        framed_pipe pipe;
        std::thread t([&] { pipe.finish(stream_tree(src_, sparse, pipe)); });
        std::string framed;
        for (;;) {
            auto s = pipe.next();
            EXPECT_TRUE(s) << s.error().message();
            if (!s || s->empty()) break;
            framed.append(reinterpret_cast<const char*>(s->data()), s->size());
            pipe.release();
        }
        t.join();
        test::write_file(dir_ / "stream.sz", framed.data(), framed.size());
        must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_unframe.py < " + q(dir_ / "stream.sz") + " > " +
                 q(dir_ / "stream.tar"));
        return dir_ / "stream.tar";
    }

    test::temp_dir dir_;
    fs::path src_ = dir_ / "src";
    fs::path out_ = dir_ / "out";
};

TEST_F(tree_stream_test, gnu_tar_lists_and_extracts_it_and_holes_stay_holes) {
    const auto tar = stream(true);
    const std::string listing = must_run("tar -tvSf " + q(tar));
    EXPECT_NE(listing.find("disk.img"), std::string::npos) << listing;
    EXPECT_NE(listing.find("link -> dir/file"), std::string::npos) << listing;
    EXPECT_NE(listing.find("dir/hard link to dir/file"), std::string::npos) << listing;
    EXPECT_EQ(listing.find("lost+found"), std::string::npos) << listing;
    // The member carries the data only: 8 MiB of disk.img are 128 KiB on the wire.
    EXPECT_LT(fs::file_size(tar), 1u << 20);
    fs::create_directories(out_);
    must_run("tar -xSpf " + q(tar) + " -C " + q(out_));
    must_run("diff -r --no-dereference -x lost+found " + q(src_) + " " + q(out_));
    EXPECT_LT(test::allocated_bytes(out_ / "disk.img"), 1u << 20);
    EXPECT_EQ(fs::file_size(out_ / "disk.img"), 8u << 20);
    struct stat a {}, b {};
    ASSERT_EQ(::stat((out_ / "dir" / "file").c_str(), &a), 0);
    ASSERT_EQ(::stat((out_ / "dir" / "hard").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_mode & 07777, 0640u);
    ASSERT_EQ(::stat((out_ / "dir" / "empty").c_str(), &a), 0);
    EXPECT_EQ(a.st_mode & 07777, 0750u);
    EXPECT_EQ(fs::read_symlink(out_ / "link"), "dir/file");
}

TEST_F(tree_stream_test, with_preallocation_the_holes_travel_as_data_and_no_member_is_sparse) {
    const auto tar = stream(false);
    EXPECT_GT(fs::file_size(tar), 8u << 20);
    fs::create_directories(out_);
    must_run("tar -xpf " + q(tar) + " -C " + q(out_));
    must_run("cmp " + q(src_ / "disk.img") + " " + q(out_ / "disk.img"));
}

TEST_F(tree_stream_test, a_socket_is_skipped_and_a_fifo_travels_unopened_as_gnu_tar_does) {
    must_run("mkfifo " + q(src_ / "dir" / "fifo"));
    must_run("/usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' " +
             q(src_ / "dir" / "sock"));
    const auto tar = stream(true);  // a read of the FIFO would block here forever
    const std::string listing = must_run("tar -tvf " + q(tar));
    EXPECT_NE(listing.find("dir/fifo"), std::string::npos) << listing;
    EXPECT_EQ(listing.find("dir/sock"), std::string::npos) << listing;
}

TEST_F(tree_stream_test, an_empty_volume_is_an_empty_archive) {
    fs::remove_all(src_);
    fs::create_directories(src_ / "lost+found");
    const auto tar = stream(true);
    EXPECT_EQ(must_run("tar -tvf " + q(tar)), "");
}

TEST_F(tree_stream_test, the_estimate_is_what_du_says) {
    for (bool apparent : {true, false}) {
        auto size = tree_size(src_, apparent);
        ASSERT_TRUE(size) << size.error().message();
        const std::string du = must_run(std::string("cd ") + q(src_) + (apparent ? " && du -sb ." : " && du -s --block-size=1 ."));
        EXPECT_EQ(std::to_string(*size), du.substr(0, du.find('\t'))) << (apparent ? "apparent" : "allocated");
    }
}

TEST_F(tree_stream_test, an_unreadable_mount_is_an_io_error_naming_it) {
    auto size = tree_size(dir_ / "missing", true);
    ASSERT_FALSE(size);
    EXPECT_TRUE(size.error().is(errc::io));
    EXPECT_NE(size.error().message().find("missing"), std::string::npos);
}

}  // namespace
}  // namespace cdi
