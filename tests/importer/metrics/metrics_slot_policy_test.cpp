// admit_newcomer (issue 19.3): when the progress endpoint's slots are full, a newcomer displaces
// the oldest silent connection, else one stalled past the grace, else it is refused.
#include "importer/metrics/metrics_slot_policy.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace cdi {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

const clock_type::time_point t0{};

metrics_slot slot(std::uint64_t id, bool heard_from, std::chrono::milliseconds age, clock_type::time_point now) {
    return {.id = id, .heard_from = heard_from, .since = now - age};
}

TEST(admit_newcomer, a_free_slot_admits_without_eviction) {
    const auto now = t0 + 1h;
    std::vector<metrics_slot> slots{slot(1, false, 5s, now)};
    auto a = admit_newcomer(slots, 2, now, 2s);
    EXPECT_TRUE(a.admit);
    EXPECT_FALSE(a.evict);
}

TEST(admit_newcomer, when_full_the_oldest_silent_connection_makes_room) {
    const auto now = t0 + 1h;
    std::vector<metrics_slot> slots{slot(1, true, 9s, now), slot(2, false, 10ms, now), slot(3, false, 30ms, now),
                                    slot(4, false, 20ms, now)};
    auto a = admit_newcomer(slots, 4, now, 2s);
    EXPECT_TRUE(a.admit);
    EXPECT_EQ(a.evict, 3u) << "silent ones go first, however young, and the oldest of them";
}

TEST(admit_newcomer, without_silent_ones_the_longest_stalled_exchange_past_the_grace_makes_room) {
    const auto now = t0 + 1h;
    std::vector<metrics_slot> slots{slot(1, true, 2500ms, now), slot(2, true, 4s, now), slot(3, true, 10ms, now)};
    auto a = admit_newcomer(slots, 3, now, 2s);
    EXPECT_TRUE(a.admit);
    EXPECT_EQ(a.evict, 2u);
}

TEST(admit_newcomer, busy_young_exchanges_refuse_the_newcomer) {
    const auto now = t0 + 1h;
    std::vector<metrics_slot> slots{slot(1, true, 1999ms, now), slot(2, true, 5ms, now)};
    auto a = admit_newcomer(slots, 2, now, 2s);
    EXPECT_FALSE(a.admit);
    EXPECT_FALSE(a.evict);
}

TEST(admit_newcomer, the_grace_is_inclusive_and_zero_capacity_refuses) {
    const auto now = t0 + 1h;
    std::vector<metrics_slot> slots{slot(1, true, 2s, now)};
    EXPECT_EQ(admit_newcomer(slots, 1, now, 2s).evict, 1u);
    EXPECT_FALSE(admit_newcomer({}, 0, now, 2s).admit);
}

}  // namespace
}  // namespace cdi
