// target_sink on regular files; the block-device tests are in target_sink_block_test.cpp.
#include "convert/target_sink.hpp"

#include "convert/aligned_buffer.hpp"
#include "convert/sparse_writer.hpp"
#include "support/target_sink_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace cdi::test {
namespace {

// The file's first n bytes (all of it when shorter).
bytes read_all(const fs::path& p, std::uint64_t n) {
    auto b = read_file_bytes(p);
    if (b.size() > n) b.resize(n);
    return b;
}

// Whether the filesystem holding dir takes O_DIRECT, probed independently of target_sink.
bool fs_takes_o_direct(const fs::path& dir) {
    auto p = dir / "probe";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_DIRECT, 0600);
    if (fd >= 0) ::close(fd);
    ::unlink(p.c_str());
    return fd >= 0;
}

const std::vector<step> mixed_steps = {
    {false, 5000},    {true, 3 * MiB},  {false, MiB},      {true, 100},     {false, 1},
    {true, 4095},     {false, 8192},    {true, 2 * MiB},   {false, 3 * MiB + 17}, {true, 4096 * 3},
    {false, 123},     {true, MiB + 5},  {false, MiB + 123},
};

// A ramfs mount (no O_DIRECT, no fallocate) for as long as the object lives; needs root.
class ramfs_mount {
public:
    explicit ramfs_mount(const fs::path& dir) : dir_(dir) {
        fs::create_directory(dir_);
        mounted_ = ::mount("none", dir_.c_str(), "ramfs", 0, nullptr) == 0;
    }
    ~ramfs_mount() {
        if (mounted_) ::umount(dir_.c_str());
    }
    bool mounted() const { return mounted_; }

private:
    fs::path dir_;
    bool mounted_ = false;
};

TEST(target_sink, file_content_matches_and_zero_runs_are_holes) {
    temp_dir dir;
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s) << s.error().message();
    append_steps(**s, mixed_steps);
    auto want = expected_content(mixed_steps);
    EXPECT_EQ((*s)->offset(), want.size());
    ASSERT_TRUE((*s)->flush());
    EXPECT_EQ(fs::file_size(path), want.size());
    EXPECT_EQ(read_all(path, want.size() + 1), want);
    // ~5 MiB of data in ~11 MiB: only data blocks (and the few blocks data shares with zeros) are allocated.
    std::uint64_t data = 0;
    for (auto& st : mixed_steps) data += st.zero ? 0 : st.len;
    EXPECT_LE(allocated_bytes(path), data + 16 * 4096);
}

TEST(target_sink, file_length_is_exact_with_trailing_zero_run_and_unaligned_tail) {
    temp_dir dir;
    const std::vector<std::vector<step>> cases = {
        {{false, MiB + 123}},
        {{false, MiB}, {true, 2 * MiB + 123}},
        {{true, MiB + 123}},
    };
    for (const auto& steps : cases) {
        auto path = dir / "disk.img";
        fs::remove(path);
        auto s = target_sink::create_file(path, {});
        ASSERT_TRUE(s) << s.error().message();
        append_steps(**s, steps);
        ASSERT_TRUE((*s)->flush());
        auto want = expected_content(steps);
        EXPECT_EQ(fs::file_size(path), want.size());
        EXPECT_EQ(read_all(path, want.size() + 1), want);
    }
}

// After flush the sink reads its tail and cuts it off through its own descriptor: a path swapped
// for another file meanwhile is neither read nor truncated (import_job's fixed-VHD footer).
TEST(target_sink, read_back_and_cut_back_use_the_sinks_descriptor_not_the_path) {
    temp_dir dir;
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s) << s.error().message();
    auto data = random_bytes(10000);
    ASSERT_TRUE((*s)->write(data));
    ASSERT_TRUE((*s)->flush());
    fs::rename(path, dir / "moved.img");
    auto other = random_bytes(10000, 2);
    write_file(path, other.data(), other.size());

    bytes tail(512);
    auto r = (*s)->read_back(tail, 10000 - 512);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(tail, bytes(data.end() - 512, data.end()));
    bytes past(512);
    EXPECT_TRUE((*s)->read_back(past, 10000 - 100).error().is(errc::io));  // the target ends first
    ASSERT_TRUE((*s)->cut_back(10000 - 512));
    EXPECT_EQ((*s)->offset(), 10000u - 512);
    EXPECT_EQ(read_file_bytes(dir / "moved.img"), bytes(data.begin(), data.end() - 512));
    EXPECT_EQ(read_file_bytes(path), other);
    EXPECT_FALSE((*s)->cut_back(10000));  // past the end
}

TEST(target_sink, file_is_created_with_mode_0660_whatever_the_umask) {
    temp_dir dir;
    auto old = ::umask(077);
    auto s = target_sink::create_file(dir / "disk.img", {});
    ::umask(old);
    ASSERT_TRUE(s);
    struct stat st {};
    ASSERT_EQ(::stat((dir / "disk.img").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST(target_sink, existing_file_is_an_error_and_left_alone) {
    temp_dir dir;
    auto path = dir / "disk.img";
    write_file(path, "keep", 4);
    auto s = target_sink::create_file(path, {});
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::io)) << s.error().message();
    EXPECT_NE(s.error().context.find("File exists"), std::string::npos) << s.error().context;
    EXPECT_EQ(fs::file_size(path), 4u);
}

TEST(target_sink, capacity_exact_passes_one_more_byte_fails_before_writing) {
    temp_dir dir;
    auto path = dir / "disk.img";
    target_options o;
    o.capacity = 2 * MiB + 100;
    auto s = target_sink::create_file(path, o);
    ASSERT_TRUE(s);
    auto& t = **s;
    EXPECT_EQ(t.capacity(), 2 * MiB + 100);
    auto data = random_bytes(MiB);
    ASSERT_TRUE(t.write(data));
    ASSERT_TRUE(t.zero(MiB));
    ASSERT_TRUE(t.write(std::span(data).first(100)));  // exactly at capacity
    auto w = t.write(std::span(data).first(1));
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().is(errc::too_large));
    EXPECT_EQ(w.error().message(), "E_TOO_LARGE: image is larger than the target capacity of 2097252 bytes");
    auto z = t.zero(1);
    ASSERT_FALSE(z);
    EXPECT_TRUE(z.error().is(errc::too_large));
    EXPECT_EQ(t.offset(), 2 * MiB + 100);
    ASSERT_TRUE(t.flush());
    EXPECT_EQ(fs::file_size(path), 2 * MiB + 100);
}

TEST(target_sink, zero_bomb_fails_fast_without_touching_the_disk) {
    temp_dir dir;
    target_options o;
    o.capacity = 4 * MiB;
    auto s = target_sink::create_file(dir / "disk.img", o);
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->zero(4 * MiB));
    auto z = (*s)->zero(std::uint64_t{1} << 40);
    ASSERT_FALSE(z);
    EXPECT_TRUE(z.error().is(errc::too_large));
    EXPECT_EQ(allocated_bytes(dir / "disk.img"), 0u);
}

// Appends mixed_steps to a preallocating file sink at path: the content is exact and every byte of
// it is allocated.
void expect_preallocated_mixed_steps(target_sink& s, const fs::path& path) {
    append_steps(s, mixed_steps);
    ASSERT_TRUE(s.flush());
    auto want = expected_content(mixed_steps);
    EXPECT_TRUE(s.preallocation_applied());
    EXPECT_EQ(read_all(path, want.size() + 1), want);
    EXPECT_GE(allocated_bytes(path), want.size());
}

TEST(target_sink, preallocate_allocates_the_whole_file) {
    temp_dir dir;
    auto path = dir / "disk.img";
    target_options o;
    o.preallocate = true;
    auto s = target_sink::create_file(path, o);
    ASSERT_TRUE(s);
    expect_preallocated_mixed_steps(**s, path);
}

TEST(target_sink, preallocate_without_fallocate_writes_the_zeros) {
    temp_dir dir;
    auto path = dir / "disk.img";
    faulty_ops f;
    f.allocate_err = EOPNOTSUPP;
    target_options o;
    o.preallocate = true;
    auto s = target_sink::create_file(path, o, zero_strategy(f.make()));
    ASSERT_TRUE(s);
    expect_preallocated_mixed_steps(**s, path);
}

TEST(target_sink, without_preallocate_nothing_is_claimed) {
    temp_dir dir;
    auto s = target_sink::create_file(dir / "disk.img", {});
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->zero(MiB));
    ASSERT_TRUE((*s)->flush());
    EXPECT_FALSE((*s)->preallocation_applied());
}

TEST(target_sink, uses_o_direct_on_a_disk_filesystem_from_aligned_and_unaligned_memory) {
    temp_dir dir;
    if (!fs_takes_o_direct(dir.path())) GTEST_SKIP() << dir.path() << " does not take O_DIRECT";
    for (bool unaligned : {false, true}) {
        auto path = dir / (unaligned ? "u.img" : "a.img");
        auto s = target_sink::create_file(path, {});
        ASSERT_TRUE(s);
        EXPECT_TRUE((*s)->caps().direct_io);
        EXPECT_EQ((*s)->caps().block_size, 4096u);
        EXPECT_FALSE((*s)->caps().block_device);
        append_steps(**s, mixed_steps, unaligned);
        ASSERT_TRUE((*s)->flush());
        EXPECT_TRUE((*s)->caps().direct_io);  // no fallback happened on the way
        auto want = expected_content(mixed_steps);
        EXPECT_EQ(read_all(path, want.size() + 1), want) << "unaligned memory: " << unaligned;
    }
}

TEST(target_sink, direct_io_off_is_buffered) {
    temp_dir dir;
    target_options o;
    o.direct_io = false;
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, o);
    ASSERT_TRUE(s);
    EXPECT_FALSE((*s)->caps().direct_io);
    append_steps(**s, mixed_steps, true);
    ASSERT_TRUE((*s)->flush());
    auto want = expected_content(mixed_steps);
    EXPECT_EQ(read_all(path, want.size() + 1), want);
}

TEST(target_sink, scratch_mode_is_buffered_and_exact) {
    temp_dir dir;
    auto path = dir / "tmpimage";
    auto s = target_sink::create_file(path, target_options{.capacity = std::nullopt, .preallocate = false, .direct_io = false, .scratch = true});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_FALSE((*s)->caps().direct_io);
    // ~110 MiB of data and holes, unaligned pieces included.
    std::vector<step> steps;
    for (int i = 0; i < 10; ++i) {
        steps.push_back({false, 7 * MiB + static_cast<std::size_t>(i) * 4099});
        steps.push_back({true, 4 * MiB + 1});
    }
    append_steps(**s, steps);
    ASSERT_TRUE((*s)->flush());
    auto want = expected_content(steps);
    EXPECT_EQ(fs::file_size(path), want.size());
    EXPECT_EQ(read_all(path, want.size() + 1), want);
}

TEST(target_sink, on_dev_shm_writes_exactly_with_whatever_io_tmpfs_takes) {
    if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
    temp_dir dir = [] {
        const test::scoped_env on_shm("CDI_TEST_TMPDIR", "/dev/shm");
        return temp_dir();
    }();
    bool direct = fs_takes_o_direct(dir.path());  // tmpfs takes O_DIRECT from Linux 6.6 on
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)->caps().direct_io, direct);
    append_steps(**s, mixed_steps);
    ASSERT_TRUE((*s)->flush());
    auto want = expected_content(mixed_steps);
    EXPECT_EQ(read_all(path, want.size() + 1), want);
}

TEST(target_sink, falls_back_to_buffered_io_and_written_zeros_on_ramfs) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount ramfs";
    temp_dir dir;
    ramfs_mount m(dir / "ramfs");
    if (!m.mounted()) GTEST_SKIP() << "cannot mount ramfs here";
    ASSERT_FALSE(fs_takes_o_direct(dir / "ramfs"));
    for (bool prealloc : {false, true}) {
        auto path = dir / "ramfs" / "disk.img";
        fs::remove(path);
        target_options o;
        o.preallocate = prealloc;
        auto s = target_sink::create_file(path, o);
        ASSERT_TRUE(s) << s.error().message();
        EXPECT_FALSE((*s)->caps().direct_io);
        append_steps(**s, mixed_steps, true);
        ASSERT_TRUE((*s)->flush());
        EXPECT_EQ((*s)->preallocation_applied(), prealloc);
        auto want = expected_content(mixed_steps);
        EXPECT_EQ(read_all(path, want.size() + 1), want);
    }
}

TEST(target_sink, full_filesystem_is_no_space) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount tmpfs";
    temp_dir dir;
    auto mnt = dir / "small";
    fs::create_directory(mnt);
    if (::mount("none", mnt.c_str(), "tmpfs", 0, "size=256k") != 0) GTEST_SKIP() << "cannot mount tmpfs";
    struct unmount {
        fs::path p;
        ~unmount() { ::umount(p.c_str()); }
    } guard{mnt};
    auto s = target_sink::create_file(mnt / "disk.img", {});
    ASSERT_TRUE(s);
    aligned_buffer data(MiB);
    std::memset(data.data(), 1, data.size());
    auto w = (*s)->write(data.span());
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().is(errc::no_space)) << w.error().message();
}

TEST(target_sink, random_appends_with_mid_stream_flush_match_byte_for_byte) {
    temp_dir dir;
    std::mt19937 gen(42);
    std::vector<step> steps;
    for (int i = 0; i < 200; ++i) {
        std::size_t len = gen() % 3 == 0 ? 1 + gen() % 16 : 1 + gen() % 70000;
        steps.push_back({gen() % 2 == 0, len});
    }
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s);
    std::vector<step> first(steps.begin(), steps.begin() + 100), second(steps.begin() + 100, steps.end());
    append_steps(**s, first, true, 1);
    ASSERT_TRUE((*s)->flush());
    EXPECT_EQ(read_all(path, SIZE_MAX), expected_content(first, 1));
    append_steps(**s, second, false, 1000);
    ASSERT_TRUE((*s)->flush());
    auto want = expected_content(first, 1);
    auto more = expected_content(second, 1000);
    want.insert(want.end(), more.begin(), more.end());
    EXPECT_EQ(read_all(path, SIZE_MAX), want);
}

TEST(target_sink, discard_removes_the_file_and_is_idempotent) {
    temp_dir dir;
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->write(random_bytes(10000)));
    (*s)->discard();
    EXPECT_FALSE(fs::exists(path));
    write_file(path, "other", 5);  // a later file of the same name is not the sink's to remove
    (*s)->discard();
    EXPECT_TRUE(fs::exists(path));
}

TEST(target_sink, sparse_writer_over_a_file_keeps_zeros_off_the_disk) {
    temp_dir dir;
    auto path = dir / "disk.img";
    auto s = target_sink::create_file(path, {});
    ASSERT_TRUE(s);
    sparse_writer w(**s);
    // 8 MiB, one 4 KiB data block in every 64 KiB; written in odd-sized chunks.
    bytes img(8 * MiB);
    for (std::size_t off = 0; off < img.size(); off += 64 * 1024) {
        auto d = random_bytes(4096, static_cast<std::uint32_t>(off));
        d[0] = std::byte{1};
        std::copy(d.begin(), d.end(), img.begin() + static_cast<std::ptrdiff_t>(off));
    }
    for (std::size_t off = 0; off < img.size(); off += 100003) {
        ASSERT_TRUE(w.write(std::span(img).subspan(off, std::min<std::size_t>(100003, img.size() - off))));
    }
    ASSERT_TRUE(w.flush());
    EXPECT_EQ(w.data_bytes(), 128u * 4096);
    EXPECT_EQ(read_all(path, SIZE_MAX), img);
    EXPECT_LE(allocated_bytes(path), 2 * MiB);
}

}  // namespace
}  // namespace cdi::test
