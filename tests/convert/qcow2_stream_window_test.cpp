// stream_window: bytes held in memory up to the limit, then (given a spill directory) in the spill
// file, read back across the boundary, or (given an origin that serves bytes again) as positions; releases as if every piece were cut at cluster boundaries;
// the spill accounting given back on release and clear. Every spilling case runs buffered and with
// O_DIRECT (the temporary directory is under /var/tmp, not tmpfs, unless CDI_TEST_TMPDIR says otherwise).
#include "convert/qcow2_stream_window.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    return b;
}

// Byte i of the test stream: distinct enough that a misplaced read shows.
std::byte at(std::uint64_t i) { return static_cast<std::byte>((i * 7 + i / 251) & 0xff); }

std::vector<std::byte> stream(std::uint64_t off, std::uint64_t len) {
    std::vector<std::byte> b(len);
    for (std::uint64_t i = 0; i < len; ++i) b[i] = at(off + i);
    return b;
}

// Whether the window holds [off, off + len) and it reads back as the stream's bytes there.
::testing::AssertionResult reads_back(stream_window& w, std::uint64_t off, std::uint64_t len) {
    std::vector<std::byte> out(len);
    auto r = w.copy_out(off, out);
    if (!r) return ::testing::AssertionFailure() << r.error().message();
    if (!*r) return ::testing::AssertionFailure() << "not held: " << off << "+" << len;
    if (out != stream(off, len)) return ::testing::AssertionFailure() << "wrong bytes at " << off << "+" << len;
    return ::testing::AssertionSuccess();
}

bool held(stream_window& w, std::uint64_t off, std::uint64_t len) {
    std::vector<std::byte> out(len);
    auto r = w.copy_out(off, out);
    return r && *r;
}

bool empty_dir(const fs::path& d) { return fs::is_empty(d); }

TEST(qcow2_stream_window, holds_passed_bytes_until_claimed_and_refuses_past_its_limit) {
    stream_window w(1000, 512);
    ASSERT_TRUE(w.put(500, bytes_of(std::string(100, 'a'))));  // crosses the 512 boundary: two pieces
    ASSERT_TRUE(w.put(550, bytes_of(std::string(100, 'b'))));  // 550..600 already held
    EXPECT_EQ(w.held(), 150u);
    std::vector<std::byte> out(150);
    ASSERT_TRUE(*w.copy_out(500, out));
    EXPECT_EQ(out[99], std::byte{'a'});
    EXPECT_EQ(out[100], std::byte{'b'});
    EXPECT_FALSE(*w.copy_out(499, std::span(out).first(2)));
    w.release(512, 88);
    EXPECT_EQ(w.held(), 62u);  // the piece 500..512 and 600..650 stay
    auto over = w.put(4096, bytes_of(std::string(1000, 'c')));
    ASSERT_FALSE(over.has_value());
    EXPECT_TRUE(over.error().is(errc::scratch_required));
    EXPECT_EQ(w.peak(), 62u + 512u) << "the first cluster of it fit before the limit";
    EXPECT_EQ(w.spill(), nullptr);
}

class qcow2_stream_window_spill : public ::testing::TestWithParam<bool> {
protected:
    spill_options spill(std::uint64_t limit = 1u << 20) const { return {dir_.path(), limit, GetParam()}; }
    const fs::path& d() const { return dir_.path(); }

private:
    test::temp_dir dir_;
};

TEST_P(qcow2_stream_window_spill, creates_no_spill_file_while_memory_suffices) {
    stream_window w(1000, 512, spill());
    ASSERT_TRUE(w.put(0, stream(0, 1000)));
    EXPECT_EQ(w.held(), 1000u);
    EXPECT_FALSE(w.spill()->has_file());
    EXPECT_EQ(w.spill_bytes_written(), 0u);
    EXPECT_EQ(w.spill_peak(), 0u);
}

TEST_P(qcow2_stream_window_spill, spills_bytes_past_the_memory_limit_and_reads_them_back_across_the_boundary) {
    stream_window w(1000, 512, spill());
    // Cluster 0 fits in memory; cluster 1 would pass 1000 bytes: the rest of the run is spilled.
    ASSERT_TRUE(w.put(0, stream(0, 4096)));
    EXPECT_EQ(w.held(), 512u);
    EXPECT_EQ(w.spilled(), 4096u - 512u);
    EXPECT_EQ(w.spill_bytes_written(), 4096u - 512u);
    EXPECT_TRUE(w.spill()->has_file());
    EXPECT_TRUE(empty_dir(d())) << "the spill file has no name";
    EXPECT_TRUE(reads_back(w, 300, 1000));  // memory, then spill
    EXPECT_TRUE(reads_back(w, 0, 4096));
    EXPECT_TRUE(reads_back(w, 4000, 96));
    EXPECT_FALSE(held(w, 4000, 97));
    // Memory has room again for a piece that fits: memory first.
    ASSERT_TRUE(w.put(8192, stream(8192, 100)));
    EXPECT_EQ(w.held(), 612u);
    EXPECT_EQ(w.spill_bytes_written(), 4096u - 512u);
    // Bytes already held are not stored twice, in memory or spilled.
    ASSERT_TRUE(w.put(0, stream(0, 8292)));
    EXPECT_EQ(w.spill_bytes_written(), 4096u - 512u + (8192u - 4096u));
    EXPECT_TRUE(reads_back(w, 0, 8292));
}

TEST_P(qcow2_stream_window_spill, release_gives_spilled_clusters_back_as_if_cut_at_cluster_boundaries) {
    stream_window w(0, 512, spill());  // nothing in memory: one spilled run 100..3100
    ASSERT_TRUE(w.put(100, stream(100, 3000)));
    EXPECT_EQ(w.held(), 0u);
    ASSERT_EQ(w.spilled(), 3000u);
    // 300..1800: only the clusters 512..1024 and 1024..1536 lie wholly inside; the partial ones stay.
    w.release(300, 1500);
    EXPECT_EQ(w.spilled(), 3000u - 1024u);
    EXPECT_TRUE(reads_back(w, 100, 412));
    EXPECT_FALSE(held(w, 512, 1));
    EXPECT_FALSE(held(w, 1535, 1));
    EXPECT_TRUE(reads_back(w, 1536, 3100 - 1536));
    // A range inside one cluster that does not cover its piece releases nothing.
    w.release(2100, 100);
    EXPECT_EQ(w.spilled(), 3000u - 1024u);
    // The run's end, ending inside a cluster: all of it goes.
    w.release(1536, 3100 - 1536);
    EXPECT_EQ(w.spilled(), 412u);
    EXPECT_TRUE(reads_back(w, 100, 412));
    w.release(0, 4096);
    EXPECT_EQ(w.spilled(), 0u);
    EXPECT_EQ(w.spill()->allocated_bytes(), 0u) << "nothing in use: the file is truncated";
    EXPECT_EQ(w.spill_peak(), 3000u);
    EXPECT_EQ(w.spill_bytes_written(), 3000u);
}

TEST_P(qcow2_stream_window_spill, release_frees_spill_accounting_so_later_spills_fit_the_limit) {
    stream_window w(0, 4096, spill(64 << 10));
    ASSERT_TRUE(w.put(0, stream(0, 64 << 10)));
    auto over = w.put(64 << 10, stream(64 << 10, 4096));
    ASSERT_FALSE(over.has_value());
    EXPECT_TRUE(over.error().is(errc::no_space)) << over.error().message();
    EXPECT_NE(over.error().context.find("scratch space is too small for this image's layout"), std::string::npos);
    EXPECT_NE(over.error().context.find("(at offset 65536)"), std::string::npos) << over.error().context;
    w.release(8192, 8192);  // two clusters claimed
    EXPECT_EQ(w.spilled(), 56u << 10);
    ASSERT_TRUE(w.put(64 << 10, stream(64 << 10, 8192)));
    EXPECT_EQ(w.spilled(), 64u << 10);
    EXPECT_EQ(w.spill_peak(), 64u << 10);
    EXPECT_TRUE(reads_back(w, 0, 8192));
    EXPECT_TRUE(reads_back(w, 16384, (72 << 10) - 16384));
}

TEST_P(qcow2_stream_window_spill, clear_drops_spilled_bytes_and_closes_the_file) {
    stream_window w(512, 512, spill(8 << 20));
    ASSERT_TRUE(w.put(0, stream(0, 3 << 20)));  // past the direct staging buffer: part in the file
    EXPECT_TRUE(reads_back(w, 0, 3 << 20));
    EXPECT_EQ(w.spilled(), (3u << 20) - 512u);
    w.clear();
    EXPECT_EQ(w.held(), 0u);
    EXPECT_EQ(w.spilled(), 0u);
    EXPECT_FALSE(w.spill()->has_file());
    EXPECT_FALSE(held(w, 0, 1));
    EXPECT_EQ(w.spill_peak(), (3u << 20) - 512u);
    EXPECT_TRUE(empty_dir(d()));
}

TEST_P(qcow2_stream_window_spill, refuses_spill_past_its_limit_as_no_space_without_creating_a_file) {
    stream_window w(1000, 512, spill(1000));
    auto r = w.put(0, stream(0, 4096));
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().is(errc::no_space)) << r.error().message();
    EXPECT_FALSE(w.spill()->has_file());
    EXPECT_TRUE(empty_dir(d()));
}

INSTANTIATE_TEST_SUITE_P(io, qcow2_stream_window_spill, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "direct" : "buffered"; });

// With an origin that serves bytes again (remote): past the memory limit only positions are kept;
// copy_out names the parts to read again, and releases cut them at cluster boundaries as spills do.
TEST(qcow2_stream_window_remote, keeps_positions_past_the_memory_limit_and_names_them_in_copy_out) {
    stream_window w(1024, 512, std::nullopt, true);
    ASSERT_TRUE(w.put(0, stream(0, 4096)));
    EXPECT_EQ(w.held(), 1024u);
    EXPECT_EQ(w.remote_bytes(), 3072u);
    std::vector<std::byte> out(2048);
    std::vector<range_part> reread;
    ASSERT_TRUE(*w.copy_out(512, out, &reread));
    ASSERT_EQ(reread.size(), 1u);
    EXPECT_EQ(reread[0].offset, 1024u);
    EXPECT_EQ(reread[0].out.data(), out.data() + 512);
    EXPECT_EQ(reread[0].out.size(), 1536u);
    EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 512), stream(512, 512)) << "the part in memory is copied";
    EXPECT_FALSE(w.copy_out(1024, out)) << "without a list, positions cannot be served";
    EXPECT_FALSE(*w.copy_out(4000, out, &reread)) << "past what went by";
}

TEST(qcow2_stream_window_remote, releases_positions_as_if_cut_at_cluster_boundaries) {
    stream_window w(0, 512, std::nullopt, true);
    ASSERT_TRUE(w.put(100, stream(100, 2000)));  // one run, 100..2100
    w.release(512, 512);                         // the cluster 512..1024 goes
    std::vector<range_part> reread;
    std::vector<std::byte> out(512);
    EXPECT_FALSE(*w.copy_out(512, out, &reread));
    EXPECT_TRUE(*w.copy_out(0 + 100, std::span(out).first(412), &reread));
    EXPECT_TRUE(*w.copy_out(1024, out, &reread));
    w.release(1100, 100);  // inside a cluster: nothing goes, as for a piece in memory
    EXPECT_TRUE(*w.copy_out(1100, std::span(out).first(100), &reread));
    w.clear();
    EXPECT_FALSE(*w.copy_out(1024, out, &reread));
}

TEST(qcow2_stream_window_remote, hands_over_to_the_spill_file_past_its_bound_on_positions) {
    test::temp_dir tmp;
    stream_window w(0, 512, spill_options{tmp.path(), 1u << 20, false}, true);
    // Runs separated by one byte never merge: one index entry each.
    for (std::uint64_t i = 0; i < stream_window::max_remote_runs; ++i) ASSERT_TRUE(w.put(i * 2, stream(i * 2, 1)));
    EXPECT_EQ(w.spill_bytes_written(), 0u);
    ASSERT_TRUE(w.put(stream_window::max_remote_runs * 2, stream(stream_window::max_remote_runs * 2, 100)));
    EXPECT_EQ(w.spill_bytes_written(), 100u);
    EXPECT_TRUE(reads_back(w, stream_window::max_remote_runs * 2, 100));
}

}  // namespace
}  // namespace cdi
