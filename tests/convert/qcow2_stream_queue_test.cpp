// cluster_queue: data clusters named ahead of the stream come back in host order across tables,
// each with its guest offset and subcluster mask; 8 bytes a cluster, counted and given back as runs
// drain; entries the decoder never passes (unaligned, past 2^56, index past the table) refused;
// past its memory limit, runs spill to an unnamed scratch file (buffered and O_DIRECT) and come back
// the same, or without scratch the queue asks for it.
#include "convert/qcow2_stream_queue.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint32_t bits = 16;
constexpr std::uint64_t cs = std::uint64_t{1} << bits;

TEST(cluster_queue, hands_clusters_back_in_host_order_across_tables_with_their_guest_offsets) {
    cluster_queue q(bits, false);
    // Two tables whose clusters interleave in the file, each given in guest order (as an L2 table lists them).
    ASSERT_TRUE(q.add(0, {{9 * cs, 0, 0}, {3 * cs, 1, 0}, {7 * cs, 2, 0}}));
    ASSERT_TRUE(q.add(8192 * cs, {{4 * cs, 0, 0}, {8 * cs, 5, 0}}));
    ASSERT_EQ(q.size(), 5u);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> got;  // (host, guest) in clusters
    while (!q.empty()) {
        const auto next = q.next_host();
        const auto c = *q.pop();
        EXPECT_EQ(c.host, next);
        EXPECT_EQ(c.data_mask, ~0u) << "a standard cluster is all allocated";
        got.emplace_back(c.host / cs, c.guest / cs);
    }
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> want{{3, 1}, {4, 8192}, {7, 2}, {8, 8197}, {9, 0}};
    EXPECT_EQ(got, want);
}

TEST(cluster_queue, keeps_each_clusters_subcluster_mask_with_extended_l2) {
    cluster_queue q(bits, true);
    ASSERT_TRUE(q.add(cs * 4096 * 3, {{2 * cs, 3, 0xf0u}, {1 * cs, 4095, 0x1u}}));
    const auto a = *q.pop();
    EXPECT_EQ(a.guest, cs * (4096 * 3 + 4095));
    EXPECT_EQ(a.data_mask, 0x1u);
    const auto b = *q.pop();
    EXPECT_EQ(b.guest, cs * (4096 * 3 + 3));
    EXPECT_EQ(b.data_mask, 0xf0u);
}

TEST(cluster_queue, takes_eight_bytes_a_cluster_and_gives_a_tables_memory_back_when_it_drains) {
    cluster_queue q(bits, false);
    std::vector<cluster_queue::entry> big;
    for (std::uint32_t i = 0; i < 100; ++i) big.push_back({(1000 + i) * cs, i, 0});
    ASSERT_TRUE(q.add(0, big));
    ASSERT_TRUE(q.add(cs * 8192, {{50 * cs, 0, 0}}));
    constexpr auto table = cluster_queue::table_overhead;
    EXPECT_EQ(q.bytes(), 101u * 8 + 2 * table);
    EXPECT_EQ(q.pop()->host, 50 * cs);
    EXPECT_EQ(q.bytes(), 100u * 8 + table);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.pop());
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(cluster_queue, holds_the_highest_host_offset_and_index_qemu_allows_at_every_cluster_size) {
    for (std::uint32_t b = 9; b <= 21; ++b) {
        for (const bool extended : {false, true}) {
            cluster_queue q(b, extended);
            const std::uint64_t host = ((std::uint64_t{1} << 56) - 1) >> b << b;
            const auto last = static_cast<std::uint32_t>((std::uint64_t{1} << (b - (extended ? 4 : 3))) - 1);
            ASSERT_TRUE(q.add(0, {{host, last, 7}}));
            const auto c = *q.pop();
            EXPECT_EQ(c.host, host) << b;
            EXPECT_EQ(c.guest, std::uint64_t{last} << b) << b;
        }
    }
}

TEST(cluster_queue, refuses_entries_it_cannot_pack_as_corrupt) {
    cluster_queue q(bits, false);
    for (const auto& [e, why] : {std::pair{cluster_queue::entry{cs + 512, 0, 0}, "not cluster-aligned"},
                                 std::pair{cluster_queue::entry{std::uint64_t{1} << 56, 0, 0}, "past qemu's 56-bit offsets"},
                                 std::pair{cluster_queue::entry{cs, 8192, 0}, "past the table's 8,192 entries"}}) {
        const auto r = q.add(0, {e});
        ASSERT_FALSE(r) << why;
        EXPECT_TRUE(r.error().is(errc::corrupt_image)) << why;
    }
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(cluster_queue, merges_tables_added_while_others_drain_into_ascending_order) {
    std::mt19937_64 gen(14);
    std::vector<std::uint64_t> hosts(20000);
    for (std::size_t i = 0; i < hosts.size(); ++i) hosts[i] = (i + 10) * cs;
    std::shuffle(hosts.begin(), hosts.end(), gen);
    cluster_queue q(bits, false);
    std::uint64_t last = 0;
    std::size_t popped = 0;
    // Tables arrive while earlier ones drain, as the stream passes their clusters.
    for (std::size_t t = 0; t < hosts.size() / 500; ++t) {
        std::vector<cluster_queue::entry> run;
        for (std::uint32_t j = 0; j < 500; ++j) run.push_back({hosts[t * 500 + j], j, 0});
        ASSERT_TRUE(q.add(t * 8192 * cs, run));
        for (int k = 0; k < 200 && !q.empty(); ++k) {
            const auto c = *q.pop();
            EXPECT_GE(c.host, last);
            last = c.host;
            ++popped;
        }
        last = 0;  // a new table may name clusters before the last one popped: order holds within each drain
    }
    while (!q.empty()) {
        const auto c = *q.pop();
        EXPECT_GE(c.host, last);
        last = c.host;
        ++popped;
    }
    EXPECT_EQ(popped, hosts.size());
}

// Tables of `per` clusters each (entries 0..per-1), every cluster of the file [10, 10 + tables * per)
// named once in shuffled order; extended tables give each cluster a mask derived from its host offset.
std::vector<std::vector<cluster_queue::entry>> shuffled_tables(std::size_t tables, std::uint32_t per, bool extended) {
    std::mt19937_64 gen(41);
    std::vector<std::uint64_t> hosts(tables * per);
    for (std::size_t i = 0; i < hosts.size(); ++i) hosts[i] = (i + 10) * cs;
    std::shuffle(hosts.begin(), hosts.end(), gen);
    std::vector<std::vector<cluster_queue::entry>> out(tables);
    for (std::size_t t = 0; t < tables; ++t) {
        for (std::uint32_t j = 0; j < per; ++j) {
            const std::uint64_t h = hosts[t * per + j];
            out[t].push_back({h, j, extended ? static_cast<std::uint32_t>(h / cs * 2654435761u) | 1u : 0});
        }
    }
    return out;
}

// Checks one popped cluster against the entry its table named.
void expect_named(const cluster_queue::cluster& c, const std::vector<std::vector<cluster_queue::entry>>& tables, bool extended) {
    const std::uint64_t table = c.guest / (cs * 8192), index = c.guest % (cs * 8192) / cs;
    ASSERT_LT(table, tables.size());
    ASSERT_LT(index, tables[table].size());
    const auto& named = tables[table][index];
    ASSERT_EQ(named.host, c.host);
    ASSERT_EQ(c.data_mask, extended ? named.data_mask : ~0u);
}

std::size_t clusters_in(const std::vector<std::vector<cluster_queue::entry>>& tables) {
    std::size_t n = 0;
    for (const auto& t : tables) n += t.size();
    return n;
}

TEST(cluster_queue, asks_for_scratch_past_its_memory_limit_without_a_spill_directory) {
    cluster_queue_options o;
    o.memory_limit = 1000;
    cluster_queue q(bits, false, o);
    const auto tables = shuffled_tables(2, 100, false);
    ASSERT_TRUE(q.add(0, tables[0])) << "880 bytes fit";
    const auto r = q.add(cs * 8192, tables[1]);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::scratch_required)) << r.error().message();
    EXPECT_EQ(q.size(), 100u) << "the refused table added nothing";
    EXPECT_EQ(q.bytes(), 800u + cluster_queue::table_overhead);
}

TEST(cluster_queue, refuses_a_table_base_no_l2_table_has_as_corrupt) {
    cluster_queue q(bits, false);
    const auto r = q.add(cs * 100, {{cs, 0, 0}});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::corrupt_image)) << r.error().message();
}

class cluster_queue_spill : public ::testing::TestWithParam<std::tuple<bool, bool>> {  // (extended, O_DIRECT)
protected:
    bool extended() const { return std::get<0>(GetParam()); }
    cluster_queue_options opts(std::uint64_t memory_limit, std::size_t buffered) const {
        return {.memory_limit = memory_limit, .spill = spill_options{dir_.path(), 1u << 30, std::get<1>(GetParam())}, .buffered = buffered};
    }
    const std::filesystem::path& d() const { return dir_.path(); }

private:
    test::temp_dir dir_;
};

TEST_P(cluster_queue_spill, merges_the_tables_in_memory_into_one_spilled_run_each_time_they_fill_it) {
    // 60 tables of 4,000 clusters, room for five: every sixth sends the six to the file as one run
    // (3.8 MB in all: past the O_DIRECT staging buffer, so records are read back from the file).
    const auto tables = shuffled_tables(60, 4000, extended());
    const std::uint64_t run_bytes = (extended() ? 4000 * 8 + 4 * 4096 : 4000 * 8) + cluster_queue::table_overhead;
    cluster_queue q(bits, extended(), opts(5 * run_bytes, 16));
    for (std::size_t t = 0; t < tables.size(); ++t) ASSERT_TRUE(q.add(t * cs * 8192, tables[t]));
    EXPECT_EQ(q.size(), 240000u);
    EXPECT_EQ(q.spilled_runs(), 10u);
    EXPECT_EQ(q.spilled_bytes(), 240000u * 16);
    EXPECT_LE(q.bytes(), 10u * 512) << "ten runs of 16 records in memory, nothing else";
    EXPECT_TRUE(std::filesystem::is_empty(d())) << "the spill file has no name";
    std::uint64_t last = 0;
    std::size_t popped = 0;
    while (!q.empty()) {
        auto c = q.pop();
        ASSERT_TRUE(c) << c.error().message();
        ASSERT_GT(c->host, last);
        last = c->host;
        expect_named(*c, tables, extended());
        ++popped;
    }
    EXPECT_EQ(popped, 240000u);
    EXPECT_EQ(q.bytes(), 0u);
}

TEST_P(cluster_queue_spill, merges_tables_partly_drained_with_the_ones_that_follow) {
    // Room for two tables: every third merges two partly drained ones with itself; pops in between.
    const auto tables = shuffled_tables(40, 300, extended());
    const std::uint64_t run_bytes = (extended() ? 300 * 8 + 4 * 4096 : 300 * 8) + cluster_queue::table_overhead;
    cluster_queue q(bits, extended(), opts(2 * run_bytes + run_bytes / 2, 7));
    std::vector<std::uint64_t> hosts;
    for (std::size_t t = 0; t < tables.size(); ++t) {
        ASSERT_TRUE(q.add(t * cs * 8192, tables[t]));
        std::uint64_t last = 0;
        for (int k = 0; k < 100 && !q.empty(); ++k) {
            auto c = q.pop();
            ASSERT_TRUE(c) << c.error().message();
            ASSERT_GT(c->host, last) << "each drain in host order";
            last = c->host;
            expect_named(*c, tables, extended());
            hosts.push_back(c->host);
        }
    }
    EXPECT_GE(q.spilled_runs(), 5u);
    while (!q.empty()) {
        auto c = q.pop();
        ASSERT_TRUE(c) << c.error().message();
        expect_named(*c, tables, extended());
        hosts.push_back(c->host);
    }
    std::sort(hosts.begin(), hosts.end());
    EXPECT_EQ(std::adjacent_find(hosts.begin(), hosts.end()), hosts.end()) << "each cluster once";
    EXPECT_EQ(hosts.size(), clusters_in(tables));
}

TEST_P(cluster_queue_spill, fails_with_no_space_when_the_scratch_volume_is_full) {
    const auto tables = shuffled_tables(1, 500, extended());
    cluster_queue_options o = opts(0, 16);
    o.spill->limit = 1000;  // bytes the spill may hold: less than the table's 8,000
    cluster_queue q(bits, extended(), o);
    const auto r = q.add(0, tables[0]);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::no_space)) << r.error().message();
    EXPECT_TRUE(q.empty());
}

INSTANTIATE_TEST_SUITE_P(layouts, cluster_queue_spill, ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& p) {
                             return std::string(std::get<0>(p.param) ? "extended" : "standard") + (std::get<1>(p.param) ? "_direct" : "_buffered");
                         });

}  // namespace
}  // namespace cdi
