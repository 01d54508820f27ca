// CDI's space arithmetic (contract 2.2) against hand-computed values and the tables of CDI's
// pkg/util/util_test.go ("Space calculation").
#include "scratch/space.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cdi {
namespace {

constexpr std::uint64_t Mi = 1024 * 1024;
constexpr std::uint64_t Gi = 1024 * Mi;

TEST(space, usable_space_matches_hand_computed_values) {
    // 1073741824 / 1.055 = 1017764762.09 -> ceil 1017764763 -> round down to 970 MiB.
    EXPECT_EQ(usable_space(Gi, 0.055), 970 * Mi);
    EXPECT_EQ(usable_space(Gi, 0.055), 1017118720u);
    // 10 GiB / 1.055 = 9706.16 MiB -> 9706 MiB.
    EXPECT_EQ(usable_space(10 * Gi, 0.055), 9706 * Mi);
    // No overhead: only the 1 MiB alignment.
    EXPECT_EQ(usable_space(Gi, 0.0), Gi);
    EXPECT_EQ(usable_space(Gi - 1, 0.0), Gi - Mi);
    EXPECT_EQ(usable_space(Mi - 1, 0.0), 0u);
    EXPECT_EQ(usable_space(0, 0.055), 0u);
}

TEST(space, required_space_matches_hand_computed_values) {
    // ceil(1073741824 * 1.055) = ceil(1132797624.32).
    EXPECT_EQ(required_space(Gi, 0.055), 1132797625u);
    // 1 GiB + 1 rounds up to 1025 MiB first: 1074790400 * 1.055 = 1133903872 exactly.
    EXPECT_EQ(required_space(Gi + 1, 0.055), 1133903872u);
    EXPECT_EQ(required_space(1, 0.0), Mi);
    EXPECT_EQ(required_space(0, 0.5), 0u);
    EXPECT_EQ(required_space(std::numeric_limits<std::uint64_t>::max(), 0.0),
              std::numeric_limits<std::uint64_t>::max());
}

struct space_case {
    std::uint64_t virtual_size;
    double overhead;
};

class space_table : public ::testing::TestWithParam<space_case> {};

// CDI: for i in [v-1024, v+1024): GetUsableSpace(int64(float64(RoundUp(i, 1Mi)+1) * (1+overhead)))
// is v when i <= v and v + 1Mi above.
TEST_P(space_table, usable_space_is_aligned_like_cdi) {
    const auto [v, overhead] = GetParam();
    for (std::uint64_t i = v - 1024; i < v + 1024; ++i) {
        const std::uint64_t rounded = (i + Mi - 1) / Mi * Mi;
        const auto requested = static_cast<std::uint64_t>(static_cast<double>(rounded + 1) * (1 + overhead));
        ASSERT_EQ(usable_space(requested, overhead), i <= v ? v : v + Mi) << "i=" << i;
    }
}

// CDI: GetRequiredSpace(i) exceeds the aligned image size by `overhead` of it (within 0.01).
TEST_P(space_table, required_space_adds_the_overhead_to_the_aligned_size) {
    const auto [v, overhead] = GetParam();
    for (std::uint64_t i = v - 1024; i < v + 1024; ++i) {
        const std::uint64_t aligned = i > v ? v + Mi : v;
        const std::uint64_t req = required_space(i, overhead);
        ASSERT_GE(req, aligned);
        ASSERT_NEAR(static_cast<double>(req - aligned) / static_cast<double>(aligned), overhead, 0.01) << "i=" << i;
    }
}

// The two are inverse: an image of required_space(s) bytes' volume holds s (rounded to 1 MiB).
TEST_P(space_table, usable_space_of_required_space_gives_back_the_size) {
    const auto [v, overhead] = GetParam();
    EXPECT_EQ(usable_space(required_space(v, overhead), overhead), v);
}

INSTANTIATE_TEST_SUITE_P(cdi_tables, space_table,
                         ::testing::Values(space_case{Mi, 0.0}, space_case{Mi, 0.06}, space_case{Mi, 0.75},
                                           space_case{40 * Mi, 0.0}, space_case{40 * Mi, 0.06},
                                           space_case{40 * Mi, 0.75}, space_case{Gi, 0.0}, space_case{Gi, 0.06},
                                           space_case{Gi, 0.75}, space_case{40 * Gi, 0.0}, space_case{40 * Gi, 0.06},
                                           space_case{40 * Gi, 0.75}));

TEST(space, available_bytes_reads_statvfs) {
    test::temp_dir dir;
    auto avail = available_bytes(dir.path());
    ASSERT_TRUE(avail) << avail.error().message();
    EXPECT_GT(*avail, 0u);
    // The same figure df reports (1 KiB blocks), give or take concurrent writers.
    auto out = test::must_run("df -k --output=avail '" + dir.path().string() + "' | tail -1");
    const double df_bytes = std::stod(out) * 1024.0;
    EXPECT_NEAR(static_cast<double>(*avail), df_bytes, 256.0 * Mi);
}

TEST(space, available_bytes_names_a_missing_path) {
    auto avail = available_bytes("/nonexistent/cdi-scratch");
    ASSERT_FALSE(avail);
    EXPECT_TRUE(avail.error().is(errc::io));
    EXPECT_NE(avail.error().context.find("/nonexistent/cdi-scratch"), std::string::npos);
}

}  // namespace
}  // namespace cdi
