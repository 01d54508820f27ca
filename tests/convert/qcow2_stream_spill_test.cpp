// stream_spill, the window's scratch file: created at the first append only, never visible in the
// directory (O_TMPFILE, or a named file unlinked at once), read back exactly (buffered and O_DIRECT,
// across its staging buffer), released blocks punched and the file truncated when nothing is in use,
// appends past the limit refused as errc::no_space.
#include "convert/qcow2_stream_spill.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> pattern(std::size_t len, unsigned seed) {
    std::vector<std::byte> b(len);
    for (std::size_t i = 0; i < len; ++i) b[i] = static_cast<std::byte>((i * 13 + seed * 101 + i / 509) & 0xff);
    return b;
}

std::vector<std::byte> read_back(stream_spill& s, std::uint64_t at, std::size_t len) {
    std::vector<std::byte> out(len);
    auto r = s.read(at, out);
    EXPECT_TRUE(r.has_value()) << r.error().message();
    return out;
}

class qcow2_stream_spill : public ::testing::TestWithParam<bool> {
protected:
    spill_options opts(std::uint64_t limit = 64u << 20) const { return {dir_.path(), limit, GetParam()}; }
    const fs::path& d() const { return dir_.path(); }

private:
    test::temp_dir dir_;
};

TEST_P(qcow2_stream_spill, creates_its_file_at_the_first_append_with_no_name_in_the_directory) {
    stream_spill s(opts());
    EXPECT_FALSE(s.has_file());
    auto at = s.append(pattern(1000, 1));
    ASSERT_TRUE(at.has_value()) << at.error().message();
    EXPECT_EQ(*at, 0u);
    EXPECT_TRUE(s.has_file());
    EXPECT_TRUE(fs::is_empty(d()));
    EXPECT_EQ(read_back(s, 0, 1000), pattern(1000, 1));
}

TEST_P(qcow2_stream_spill, falls_back_to_a_named_file_unlinked_at_once) {
    stream_spill s(opts(), stream_spill::naming::named_only);
    ASSERT_TRUE(s.append(pattern(5000, 2)).has_value());
    EXPECT_TRUE(s.has_file());
    EXPECT_TRUE(fs::is_empty(d())) << "the name is gone before anything is written";
    EXPECT_EQ(read_back(s, 0, 5000), pattern(5000, 2));
}

TEST_P(qcow2_stream_spill, reads_back_pieces_in_the_file_and_in_the_staging_buffer) {
    stream_spill s(opts());
    // Odd sizes, 3.5 MiB in all: with O_DIRECT, pieces straddle the staging buffer's 1 MiB flushes.
    std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> pieces;
    std::uint64_t total = 0;
    for (unsigned i = 0; total < (7u << 19); ++i) {
        auto p = pattern(4097 + i * 3001 % 300000, i);
        auto at = s.append(p);
        ASSERT_TRUE(at.has_value()) << at.error().message();
        EXPECT_EQ(*at, total);
        total += p.size();
        pieces.emplace_back(*at, std::move(p));
    }
    EXPECT_EQ(s.bytes_written(), total);
    EXPECT_EQ(s.in_use(), total);
    EXPECT_EQ(s.direct(), GetParam());
    for (const auto& [at, p] : pieces) EXPECT_EQ(read_back(s, at, p.size()), p) << "piece at " << at;
    // A piece's middle, unaligned, and a read spanning two pieces.
    EXPECT_EQ(read_back(s, pieces[3].first + 17, 1000), std::vector<std::byte>(pieces[3].second.begin() + 17, pieces[3].second.begin() + 1017));
    auto two = read_back(s, pieces[5].first, pieces[5].second.size() + pieces[6].second.size());
    EXPECT_TRUE(std::equal(pieces[6].second.begin(), pieces[6].second.end(), two.begin() + static_cast<std::ptrdiff_t>(pieces[5].second.size())));
}

TEST_P(qcow2_stream_spill, punches_released_blocks_and_truncates_when_nothing_is_in_use) {
    stream_spill s(opts());
    constexpr std::size_t piece = 64 << 10;
    for (unsigned i = 0; i < 64; ++i) ASSERT_TRUE(s.append(pattern(piece, i)).has_value());  // 4 MiB: all in the file
    const std::uint64_t full = s.allocated_bytes();
    EXPECT_GE(full, 4u << 20);
    for (unsigned i = 1; i < 63; ++i) s.release(i * piece, piece);
    EXPECT_EQ(s.in_use(), 2 * piece);
    EXPECT_LE(s.allocated_bytes(), 2 * piece + 8192) << "released blocks are punched";
    EXPECT_EQ(read_back(s, 0, piece), pattern(piece, 0));
    EXPECT_EQ(read_back(s, 63 * piece, piece), pattern(piece, 63));
    // Unaligned neighbours released one after the other: the block they shared is freed too.
    s.release(0, 1000);
    s.release(1000, piece - 1000);
    EXPECT_LE(s.allocated_bytes(), piece + 4096);
    s.release(63 * piece, piece);
    EXPECT_EQ(s.in_use(), 0u);
    EXPECT_EQ(s.allocated_bytes(), 0u);
    auto again = s.append(pattern(10, 9));
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, 0u) << "an empty file is reused from its start";
    EXPECT_EQ(s.peak(), 64 * piece);
    EXPECT_EQ(s.bytes_written(), 64 * piece + 10);
}

TEST_P(qcow2_stream_spill, refuses_append_past_its_limit_as_no_space_before_creating_anything) {
    stream_spill s(opts(1000));
    ASSERT_TRUE(s.append(pattern(0, 0)).has_value());
    EXPECT_FALSE(s.has_file()) << "an empty append creates nothing";
    auto r = s.append(pattern(1001, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is(errc::no_space)) << r.error().message();
    EXPECT_NE(r.error().context.find("scratch space is too small for this image's layout"), std::string::npos);
    EXPECT_FALSE(s.has_file());
    ASSERT_TRUE(s.append(pattern(600, 0)).has_value());
    EXPECT_FALSE(s.append(pattern(401, 0)).has_value());
    s.release(0, 100);
    EXPECT_TRUE(s.append(pattern(400, 0)).has_value()) << "released bytes count no more";
}

TEST_P(qcow2_stream_spill, reports_a_missing_directory_at_the_first_append) {
    stream_spill s({d() / "gone", 1 << 20, GetParam()});
    auto r = s.append(pattern(10, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is(errc::io)) << r.error().message();
    EXPECT_NE(r.error().context.find("creating a spill file in"), std::string::npos) << r.error().context;
}

TEST_P(qcow2_stream_spill, clear_closes_the_file_and_a_later_append_opens_a_new_one) {
    stream_spill s(opts());
    ASSERT_TRUE(s.append(pattern(3 << 20, 4)).has_value());
    s.clear();
    EXPECT_FALSE(s.has_file());
    EXPECT_EQ(s.in_use(), 0u);
    auto at = s.append(pattern(100, 5));
    ASSERT_TRUE(at.has_value());
    EXPECT_EQ(*at, 0u);
    EXPECT_EQ(read_back(s, 0, 100), pattern(100, 5));
    EXPECT_TRUE(fs::is_empty(d()));
}

INSTANTIATE_TEST_SUITE_P(io, qcow2_stream_spill, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "direct" : "buffered"; });

}  // namespace
}  // namespace cdi
