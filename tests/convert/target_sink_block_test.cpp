// target_sink on block devices: loop devices over a patterned backing file (needs root), and the
// block-device checks that need none.
#include "convert/target_sink.hpp"

#include "convert/aligned_buffer.hpp"
#include "support/target_sink_fixtures.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace cdi::test {
namespace {

// Reads a device with O_DIRECT, so what is checked is what reached the disk, not the page cache.
bytes read_device(const fs::path& dev, std::uint64_t size) {
    unique_fd fd(::open(dev.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC));
    if (!fd) throw std::runtime_error("cannot open " + dev.string());
    aligned_buffer buf(size);
    std::uint64_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd.get(), buf.data() + got, size - got, static_cast<off_t>(got));
        if (n <= 0) throw std::runtime_error("cannot read " + dev.string());
        got += static_cast<std::uint64_t>(n);
    }
    return bytes(buf.data(), buf.data() + size);
}

TEST(block_device_size, regular_file_is_bad_request) {
    temp_dir dir;
    write_file(dir / "f", "x", 1);
    auto r = block_device_size(dir / "f");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_request));
    auto m = block_device_size(dir / "missing");
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::io));
}

constexpr std::uint64_t dev_size = 16 * MiB;

// A loop device over a backing file filled with 0xAA, so every byte not written must be zeroed.
struct patterned_loop {
    temp_dir dir;
    std::unique_ptr<loop_device> dev;
    patterned_loop() {
        bytes fill(dev_size, std::byte{0xAA});
        write_file(dir / "backing", fill.data(), fill.size());
        dev = std::make_unique<loop_device>(dir / "backing", dev_size);
    }
    const fs::path& path() const { return dev->path(); }
};

// Zero runs of every shape: aligned, unaligned on both edges, inside one block, across data.
const std::vector<step> block_steps = {
    {true, 3 * MiB},  {false, 1000},  {true, 10},      {false, 5000},    {true, 2 * MiB + 700},
    {false, 512},     {true, 511},    {false, MiB},    {true, 4096 * 5}, {false, 3},
    {true, MiB + 1},  {false, 70000}, {true, 2 * MiB},
};

void check_device(const fs::path& dev, const std::vector<step>& steps) {
    auto want = expected_content(steps);
    auto got = read_device(dev, dev_size);
    ASSERT_EQ(bytes(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
    // Past the appended end the device reads zeros, not its old content (security.md 5.1).
    for (std::size_t i = want.size(); i < got.size(); ++i) {
        ASSERT_EQ(got[i], std::byte{0}) << "byte " << i << " past the end kept the device's old content";
    }
}

TEST(target_sink_block, capacity_is_the_device_size) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto size = block_device_size(loop.path());
    ASSERT_TRUE(size) << size.error().message();
    EXPECT_EQ(*size, dev_size);
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ((*s)->capacity(), dev_size);
    EXPECT_TRUE((*s)->caps().block_device);
    EXPECT_TRUE((*s)->caps().direct_io);
    EXPECT_EQ((*s)->caps().block_size, 512u);
    target_options o;
    o.capacity = 5 * MiB;
    s = nullptr;
    auto t = target_sink::open_block(loop.path(), o);
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ((*t)->capacity(), 5 * MiB);
}

// cut_back on a device zeroes the cut range (the device keeps its size); read_back reads it back.
TEST(target_sink_block, cut_back_zeroes_the_cut_range_and_read_back_reads_the_device) {
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s) << s.error().message();
    bytes data(10000, std::byte{0x55});
    ASSERT_TRUE((*s)->write(data));
    ASSERT_TRUE((*s)->flush());
    bytes tail(512);
    ASSERT_TRUE((*s)->read_back(tail, 10000 - 512));
    EXPECT_EQ(tail, bytes(512, std::byte{0x55}));
    auto r = (*s)->cut_back(10000 - 512);
    ASSERT_TRUE(r) << r.error().message();
    auto want = bytes(10000 - 512, std::byte{0x55});
    want.resize(64 * 1024, std::byte{0});
    EXPECT_EQ(read_device(loop.path(), 64 * 1024), want);
}

TEST(target_sink_block, open_is_exclusive) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto a = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(a);
    auto b = target_sink::open_block(loop.path(), {});
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().context.find("busy"), std::string::npos) << b.error().context;
}

TEST(target_sink_block, regular_file_is_not_a_block_device) {
    temp_dir dir;
    write_file(dir / "f", "x", 1);
    auto s = target_sink::open_block(dir / "f", {});
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::bad_request));
}

TEST(target_sink_block, zero_runs_read_back_as_zero_with_the_kernel_methods) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s);
    append_steps(**s, block_steps, true);
    ASSERT_TRUE((*s)->flush());
    s = nullptr;
    check_device(loop.path(), block_steps);
}

struct fallback_case {
    const char* name;
    int zero_range_err, punch_hole_err, blkzeroout_err;
    zero_method expected;
};

TEST(target_sink_block, every_forced_fallback_level_zeroes_the_device) {
    CDI_REQUIRE_LOOP();
    const fallback_case cases[] = {
        {"zero_range", 0, 0, 0, zero_method::zero_range},
        {"punch_hole", EOPNOTSUPP, 0, 0, zero_method::punch_hole},
        {"blkzeroout", EOPNOTSUPP, EINVAL, 0, zero_method::blkzeroout},
        {"write_zeros", EOPNOTSUPP, EOPNOTSUPP, ENOTTY, zero_method::write_zeros},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        patterned_loop loop;
        faulty_ops f;
        f.zero_range_err = c.zero_range_err;
        f.punch_hole_err = c.punch_hole_err;
        f.blkzeroout_err = c.blkzeroout_err;
        auto s = target_sink::open_block(loop.path(), {}, zero_strategy(f.make()));
        ASSERT_TRUE(s);
        append_steps(**s, block_steps);
        ASSERT_TRUE((*s)->flush());
        EXPECT_EQ((*s)->zeroing_method(), c.expected);
        // Sticky: a failing method is tried once; the chosen one does all the work (5 zero ranges).
        EXPECT_EQ(f.zero_range_calls, c.expected == zero_method::zero_range ? 5 : 1);
        EXPECT_EQ(f.punch_hole_calls,
                  c.expected == zero_method::punch_hole ? 5 : (c.expected > zero_method::punch_hole ? 1 : 0));
        // Plus one BLKZEROOUT for the device past the image (tried first there) while it is enabled.
        EXPECT_EQ(f.blkzeroout_calls,
                  (c.expected == zero_method::blkzeroout ? 5 : (c.expected > zero_method::blkzeroout ? 1 : 0)) +
                      (c.expected != zero_method::write_zeros ? 1 : 0));
        s = nullptr;
        check_device(loop.path(), block_steps);
    }
}

TEST(target_sink_block, device_error_while_zeroing_is_returned_not_fallen_back_from) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    faulty_ops f;
    f.zero_range_err = EIO;
    auto s = target_sink::open_block(loop.path(), {}, zero_strategy(f.make()));
    ASSERT_TRUE(s);
    auto z = (*s)->zero(MiB);
    ASSERT_FALSE(z);
    EXPECT_TRUE(z.error().is(errc::io));
    EXPECT_NE(z.error().context.find("ZERO_RANGE"), std::string::npos) << z.error().context;
    EXPECT_EQ((*s)->zeroing_method(), zero_method::zero_range);
    EXPECT_EQ(f.punch_hole_calls, 0);
}

TEST(target_sink_block, preallocation_never_punches_holes) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    faulty_ops f;
    f.zero_range_err = EOPNOTSUPP;
    target_options o;
    o.preallocate = true;
    auto s = target_sink::open_block(loop.path(), o, zero_strategy(f.make()));
    ASSERT_TRUE(s);
    append_steps(**s, block_steps);
    ASSERT_TRUE((*s)->flush());
    EXPECT_TRUE((*s)->preallocation_applied());
    EXPECT_EQ(f.punch_hole_calls, 0);
    EXPECT_EQ((*s)->zeroing_method(), zero_method::blkzeroout);
    s = nullptr;
    check_device(loop.path(), block_steps);
}

TEST(target_sink_block, writing_past_the_device_is_too_large_and_writes_nothing) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s);
    const std::vector<step> fill = {{false, dev_size / 2}, {false, dev_size / 2 - 1000}};
    append_steps(**s, fill);
    auto w = (*s)->write(random_bytes(1001));
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().is(errc::too_large));
    auto z = (*s)->zero(1001);
    ASSERT_FALSE(z);
    EXPECT_TRUE(z.error().is(errc::too_large));
    ASSERT_TRUE((*s)->flush());
    s = nullptr;
    check_device(loop.path(), fill);
}

TEST(target_sink_block, unaligned_tail_is_written_exactly_and_appending_continues) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s);
    const std::vector<step> a = {{false, MiB + 123}};
    const std::vector<step> b = {{true, 77}, {false, 4000}, {true, 300}};
    append_steps(**s, a);
    ASSERT_TRUE((*s)->flush());
    EXPECT_TRUE((*s)->caps().direct_io);
    append_steps(**s, b, false, 8);
    ASSERT_TRUE((*s)->flush());
    s = nullptr;
    auto want = expected_content(a);
    auto more = expected_content(b, 8);
    want.insert(want.end(), more.begin(), more.end());
    auto got = read_device(loop.path(), dev_size);
    EXPECT_EQ(bytes(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
    EXPECT_EQ(got[want.size()], std::byte{0});  // zeroed past the end by the first flush
}

// Issue 12 / security.md 5.1: an image that ends inside a logical block on a device full of old
// data: the rest of that block and everything after it read back as zero once flushed.
TEST(target_sink_block, the_device_past_the_image_reads_back_as_zero) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s);
    const std::vector<step> image = {{false, 3 * MiB + 100}, {true, 1000}, {false, 7}};
    append_steps(**s, image);
    ASSERT_TRUE((*s)->flush());
    s = nullptr;
    auto got = read_device(loop.path(), dev_size);
    auto want = expected_content(image);
    ASSERT_EQ(bytes(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(want.size())), want);
    std::size_t old = 0;
    for (std::size_t i = want.size(); i < got.size(); ++i) old += got[i] != std::byte{0};
    EXPECT_EQ(old, 0u) << "bytes past the image kept the device's old content";
}

TEST(target_sink_block, discard_leaves_the_device_node) {
    CDI_REQUIRE_LOOP();
    patterned_loop loop;
    auto s = target_sink::open_block(loop.path(), {});
    ASSERT_TRUE(s);
    (*s)->discard();
    EXPECT_TRUE(fs::exists(loop.path()));
}

}  // namespace
}  // namespace cdi::test
