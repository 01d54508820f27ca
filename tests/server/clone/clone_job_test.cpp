// clone_job's three pipelines on streams made the way CDI's clone source makes them: GNU `tar -S`
// (a sparse disk.img, a long name, a subdirectory) or raw device bytes, framed by the independent
// python encoder (tests/support/snappy_frame.py). Block targets are loop devices pre-filled with 0xAA.
#include "server/clone/clone_job.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

constexpr std::uint64_t disk_size = 4 << 20;

class clone_job_test : public ::testing::Test {
protected:
    void SetUp() override {
        CDI_REQUIRE_TOOL("tar");
        fs::create_directories(src_ / "sub");
        fs::create_directories(data_);
        // A 4 MiB disk with random data at 0, 1 MiB and in its last block, holes elsewhere.
        must_run("truncate -s " + std::to_string(disk_size) + " " + q(src_ / "disk.img"));
        for (auto [off, len] : {std::pair<std::uint64_t, int>{0, 65536}, {1 << 20, 65536}, {disk_size - 4096, 4096}}) {
            must_run("head -c " + std::to_string(len) + " /dev/urandom | dd of=" + q(src_ / "disk.img") +
                     " bs=4096 seek=" + std::to_string(off / 4096) + " conv=notrunc status=none");
        }
        must_run("head -c 5000 /dev/urandom > " + q(src_ / long_name_));
        must_run("echo hello > " + q(src_ / "sub" / "notes.txt"));
    }

    // The filesystem-clone payload: `tar cv -S` of the top-level entries, names relative.
    fs::path fs_stream(const std::string& opts = "", const std::string& entries = "") {
        must_run("cd " + q(src_) + " && tar cSf " + q(dir_ / "fs.tar") + " " +
                 (entries.empty() ? "disk.img " + long_name_ + " sub" : entries));
        return frame(dir_ / "fs.tar", opts);
    }
    fs::path block_stream(const std::string& opts = "") { return frame(src_ / "disk.img", opts); }

    fs::path frame(const fs::path& in, const std::string& opts) {
        const fs::path out = dir_ / (in.filename().string() + ".sz");
        must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/snappy_frame.py " + opts + " < " + q(in) + " > " + q(out));
        return out;
    }

    job_spec spec(const fs::path& target) const {
        job_spec s;
        s.target = target;
        s.block_volume = fs::is_block_file(target);
        s.data_dir = data_;
        return s;
    }

    result<job_result> run(job_spec s, clone_kind kind, const fs::path& stream) {
        clone_job job(std::move(s), kind, prog_, cancel_);
        return job.run(std::make_unique<test::scripted_source>(test::read_file_bytes(stream), 100 * 1000));
    }

    // A loop device of size bytes, every byte 0xAA before the clone.
    std::unique_ptr<test::loop_device> aa_device(std::uint64_t size) {
        must_run("head -c " + std::to_string(size) + " /dev/zero | tr '\\0' '\\252' > " + q(dir_ / "backing"));
        return std::make_unique<test::loop_device>(dir_ / "backing", size);
    }

    test::temp_dir dir_;
    fs::path src_ = dir_ / "src";
    fs::path data_ = dir_ / "data";
    std::string long_name_ = std::string(120, 'n') + ".bin";
    progress prog_;
    cancel_token cancel_;
};

TEST_F(clone_job_test, filesystem_clone_into_a_directory_is_byte_exact_and_sparse) {
    auto r = run(spec(data_ / "disk.img"), clone_kind::filesystem, fs_stream());
    ASSERT_TRUE(r) << r.error().message();
    must_run("diff -r " + q(src_) + " " + q(data_));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);  // holes stayed holes
    EXPECT_FALSE(r->preallocation_applied);
    EXPECT_EQ(prog_.current_phase(), phase::complete);
}

TEST_F(clone_job_test, filesystem_clone_with_preallocation_allocates_and_says_so) {
    auto s = spec(data_ / "disk.img");
    s.preallocate = true;
    auto r = run(s, clone_kind::filesystem, fs_stream("--uncompressed --padding"));
    ASSERT_TRUE(r) << r.error().message();
    must_run("diff -r " + q(src_) + " " + q(data_));
    EXPECT_GE(test::allocated_bytes(data_ / "disk.img"), disk_size);
    EXPECT_TRUE(r->preallocation_applied);
}

TEST_F(clone_job_test, blockdevice_clone_into_a_file_is_byte_exact_sparse_and_0660) {
    auto r = run(spec(data_ / "disk.img"), clone_kind::blockdevice, block_stream("--mixed"));
    ASSERT_TRUE(r) << r.error().message();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(data_ / "disk.img"));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 1u << 20);
    EXPECT_EQ(fs::status(data_ / "disk.img").permissions(), fs::perms(0660));
    EXPECT_EQ(r->virtual_size, disk_size);
    EXPECT_EQ(r->data_bytes, 2u * 65536 + 4096);
    EXPECT_FALSE(r->preallocation_applied);
}

TEST_F(clone_job_test, blockdevice_clone_onto_a_block_device_zeroes_the_holes) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(disk_size);
    auto r = run(spec(dev->path()), clone_kind::blockdevice, block_stream());
    ASSERT_TRUE(r) << r.error().message();
    must_run("cmp " + q(src_ / "disk.img") + " " + q(dev->path()));
}

TEST_F(clone_job_test, filesystem_clone_onto_a_block_device_writes_the_disk_img_entry) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(2 * disk_size);
    // disk.img is not the first entry: the entries before it are skipped.
    auto r = run(spec(dev->path()), clone_kind::filesystem, fs_stream("", "sub " + long_name_ + " disk.img"));
    ASSERT_TRUE(r) << r.error().message();
    must_run("cmp -n " + std::to_string(disk_size) + " " + q(src_ / "disk.img") + " " + q(dev->path()));
    // Past the entry's size the device reads zeros, not its old 0xAA (security.md 5.1; CDI leaves them).
    must_run("cmp -n " + std::to_string(disk_size) + " -i " + std::to_string(disk_size) + ":0 " + q(dev->path()) + " /dev/zero");
    EXPECT_EQ(r->virtual_size, disk_size);
}

TEST_F(clone_job_test, filesystem_clone_onto_a_block_device_without_disk_img_fails) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(disk_size);
    auto r = run(spec(dev->path()), clone_kind::filesystem, fs_stream("", "sub " + long_name_));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "no disk image found in tar");
    EXPECT_EQ(prog_.current_phase(), phase::error);
}

TEST_F(clone_job_test, a_target_too_small_is_too_large_and_leaves_no_file) {
    auto s = spec(data_ / "disk.img");
    s.requested_size = disk_size / 2;
    auto r = run(s, clone_kind::blockdevice, block_stream());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(clone_job_test, a_block_device_too_small_is_too_large) {
    CDI_REQUIRE_LOOP();
    auto dev = aa_device(disk_size / 2);
    auto r = run(spec(dev->path()), clone_kind::filesystem, fs_stream());
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large)) << r.error().message();
}

TEST_F(clone_job_test, a_corrupt_stream_leaves_no_target) {
    // An old target from an earlier attempt is replaced, so it must not survive a failed clone either.
    must_run("echo old > " + q(data_ / "disk.img"));
    auto blk = run(spec(data_ / "disk.img"), clone_kind::blockdevice, block_stream("--corrupt-crc 20"));
    ASSERT_FALSE(blk);
    EXPECT_TRUE(blk.error().is(errc::decompress)) << blk.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));

    auto tree = run(spec(data_ / "disk.img"), clone_kind::filesystem, fs_stream("--corrupt-crc 1"));
    ASSERT_FALSE(tree);
    EXPECT_TRUE(tree.error().is(errc::decompress)) << tree.error().message();
    EXPECT_TRUE(fs::is_empty(data_));
}

TEST_F(clone_job_test, a_truncated_stream_fails_and_leaves_no_target) {
    const fs::path framed = block_stream();
    must_run("truncate -s -100 " + q(framed));
    auto r = run(spec(data_ / "disk.img"), clone_kind::blockdevice, framed);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::truncated)) << r.error().message();
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(clone_job_test, clone_kinds_come_from_the_cdi_content_type_header) {
    EXPECT_EQ(clone_kind_from_header("blockdevice-clone"), clone_kind::blockdevice);
    EXPECT_EQ(clone_kind_from_header("filesystem-clone"), clone_kind::filesystem);
    EXPECT_EQ(clone_kind_from_header("kubevirt"), std::nullopt);
    EXPECT_EQ(clone_kind_from_header(""), std::nullopt);
}

}  // namespace
}  // namespace cdi
