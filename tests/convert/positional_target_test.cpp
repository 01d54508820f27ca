// positional_target: the job's target written at guest offsets in any order (the stream decoder's
// output), on a fresh file and on a loop device over a patterned backing file (needs root).
#include "convert/positional_target.hpp"

#include "support/target_sink_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

namespace cdi::test {
namespace {

constexpr std::uint64_t size = 8 * MiB + 1536;  // not a multiple of 4 KiB: the last write is unaligned

// Writes pieces of every alignment, out of order and from unaligned memory, and returns what the
// target must then hold.
bytes write_pieces(positional_target& t) {
    bytes want(size);
    const bytes src = random_bytes(2 * MiB + 4097, 7);
    struct piece {
        std::uint64_t at;
        std::size_t len;
        std::size_t from;  // offset into src: odd ones make the memory unaligned
    };
    const std::vector<piece> pieces = {
        {5 * MiB, MiB, 0},          {512, 4096, 1},  {MiB + 4096, 2 * MiB, 0},  {size - 1536, 1536, 3},
        {7 * MiB + 100, 5000, 17},  {0, 512, 5},     {4 * MiB, 65536, 4096},    {6 * MiB + 4095, 2, 9},
    };
    for (const auto& p : pieces) {
        auto data = std::span(src).subspan(p.from, p.len);
        auto r = t.write_at(p.at, data);
        EXPECT_TRUE(r) << r.error().message();
        std::copy(data.begin(), data.end(), want.begin() + static_cast<std::ptrdiff_t>(p.at));
    }
    return want;
}

TEST(positional_target, file_holds_every_piece_at_its_offset_and_holes_elsewhere) {
    temp_dir dir;
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = 64 * MiB});
    ASSERT_TRUE(t) << t.error().message();
    const auto want = write_pieces(**t);
    ASSERT_TRUE((*t)->zero_at(3 * MiB + 8192, MiB / 2));  // never written: stays a hole
    auto f = (*t)->flush();
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(read_file_bytes(dir / "disk.img"), want);
    struct stat st {};
    ASSERT_EQ(::stat((dir / "disk.img").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, 5 * MiB) << "unwritten ranges must stay holes";
}

TEST(positional_target, image_larger_than_the_capacity_is_refused_with_cdis_words_before_anything_is_created) {
    temp_dir dir;
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = MiB});
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(errc::too_large));
    EXPECT_NE(t.error().context.find("is larger than the reported available storage"), std::string::npos) << t.error().message();
    EXPECT_FALSE(fs::exists(dir / "disk.img"));
}

TEST(positional_target, write_past_the_image_is_refused) {
    temp_dir dir;
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = 64 * MiB});
    ASSERT_TRUE(t) << t.error().message();
    const bytes b(4096);
    auto r = (*t)->write_at(size - 100, b);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large));
    EXPECT_FALSE((*t)->zero_at(size, 1));
}

TEST(positional_target, an_existing_target_or_a_symlink_there_is_replaced_never_followed) {
    temp_dir dir;
    write_file(dir / "victim", "keep", 4);
    fs::create_symlink(dir / "victim", dir / "disk.img");
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = 64 * MiB});
    ASSERT_TRUE(t) << t.error().message();
    ASSERT_TRUE((*t)->flush());
    EXPECT_FALSE(fs::is_symlink(dir / "disk.img"));
    EXPECT_EQ(fs::file_size(dir / "disk.img"), size);
    EXPECT_EQ(slurp(dir / "victim"), "keep");
}

TEST(positional_target, discard_removes_the_file) {
    temp_dir dir;
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = 64 * MiB});
    ASSERT_TRUE(t) << t.error().message();
    (*t)->discard();
    EXPECT_FALSE(fs::exists(dir / "disk.img"));
}

TEST(positional_target, preallocation_allocates_the_whole_file) {
    temp_dir dir;
    auto t = positional_target::open(dir / "disk.img", false, size, {.capacity = 64 * MiB, .preallocate = true});
    ASSERT_TRUE(t) << t.error().message();
    const auto want = write_pieces(**t);
    ASSERT_TRUE((*t)->flush());
    EXPECT_TRUE((*t)->preallocation_applied());
    EXPECT_EQ(read_file_bytes(dir / "disk.img"), want);
    struct stat st {};
    ASSERT_EQ(::stat((dir / "disk.img").c_str(), &st), 0);
    EXPECT_GE(static_cast<std::uint64_t>(st.st_blocks) * 512, size);
}

TEST(positional_target, block_device_reads_back_the_pieces_and_zeros_everywhere_else) {
    CDI_REQUIRE_LOOP();
    temp_dir dir;
    constexpr std::uint64_t dev_size = 16 * MiB;
    const bytes fill(dev_size, std::byte{0xAA});
    write_file(dir / "backing", fill.data(), fill.size());
    loop_device loop(dir / "backing", dev_size);
    {
        auto t = positional_target::open(loop.path(), true, size, {.capacity = dev_size});
        ASSERT_TRUE(t) << t.error().message();
        auto want = write_pieces(**t);
        ASSERT_TRUE((*t)->flush());
        want.resize(dev_size);  // past the image too: the device's old bytes are gone (security.md 5.1)
        run_command("sync");
        EXPECT_EQ(read_file_bytes(dir / "backing"), want);
    }
}

TEST(positional_target, block_device_smaller_than_the_image_is_refused_untouched) {
    CDI_REQUIRE_LOOP();
    temp_dir dir;
    constexpr std::uint64_t dev_size = 4 * MiB;
    const bytes fill(dev_size, std::byte{0xAA});
    write_file(dir / "backing", fill.data(), fill.size());
    loop_device loop(dir / "backing", dev_size);
    auto t = positional_target::open(loop.path(), true, size, {.capacity = 64 * MiB});
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(errc::too_large));
    EXPECT_EQ(read_file_bytes(dir / "backing"), fill);
}

TEST(positional_target, a_regular_file_where_a_block_volume_is_expected_is_bad_request_and_untouched) {
    temp_dir dir;
    write_file(dir / "not-a-device", "keep", 4);
    auto t = positional_target::open(dir / "not-a-device", true, 4096, {.capacity = 64 * MiB});
    ASSERT_FALSE(t);
    EXPECT_TRUE(t.error().is(errc::bad_request));
    EXPECT_EQ(slurp(dir / "not-a-device"), "keep");
}

}  // namespace
}  // namespace cdi::test
