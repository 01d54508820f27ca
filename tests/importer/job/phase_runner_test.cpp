#include "importer/job/phase_runner.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace cdi {
namespace {

TEST(phase_runner, runs_phases_in_the_order_executors_return_until_complete) {
    progress prog;
    phase_runner runner(prog);
    std::vector<phase> seen;
    runner.on(phase::info, [&]() -> result<phase> { seen.push_back(phase::info); return phase::transfer_scratch; });
    runner.on(phase::transfer_scratch, [&]() -> result<phase> { seen.push_back(phase::transfer_scratch); return phase::convert; });
    runner.on(phase::convert, [&]() -> result<phase> { seen.push_back(phase::convert); return phase::resize; });
    runner.on(phase::resize, [&]() -> result<phase> { seen.push_back(phase::resize); return phase::complete; });
    auto r = runner.run(phase::info);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, phase::complete);
    EXPECT_EQ(seen, (std::vector<phase>{phase::info, phase::transfer_scratch, phase::convert, phase::resize}));
    EXPECT_EQ(prog.current_phase(), phase::complete);
}

TEST(phase_runner, stops_at_pause) {
    progress prog;
    phase_runner runner(prog);
    runner.on(phase::info, []() -> result<phase> { return phase::pause; });
    auto r = runner.run(phase::info);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, phase::pause);
}

TEST(phase_runner, a_phase_visited_twice_is_a_loop_error) {
    progress prog;
    phase_runner runner(prog);
    runner.on(phase::info, []() -> result<phase> { return phase::convert; });
    runner.on(phase::convert, []() -> result<phase> { return phase::info; });
    auto r = runner.run(phase::info);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "loop detected on phase Info");
    EXPECT_EQ(prog.current_phase(), phase::error);
}

TEST(phase_runner, a_phase_without_executor_is_unknown) {
    progress prog;
    phase_runner runner(prog);
    runner.on(phase::info, []() -> result<phase> { return phase::resize; });
    auto r = runner.run(phase::info);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "Unknown processing phase Resize");
}

TEST(phase_runner, the_first_error_aborts_wrapped_in_the_phase_words) {
    progress prog;
    phase_runner runner(prog);
    bool later_ran = false;
    runner.on(phase::info, []() -> result<phase> { return phase::transfer_data_file; });
    runner.on(phase::transfer_data_file, []() -> result<phase> { return make_error(errc::no_space, "disk full"); },
              "Unable to transfer source data to target file");
    runner.on(phase::resize, [&]() -> result<phase> { later_ran = true; return phase::complete; });
    auto r = runner.run(phase::info);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::no_space));
    EXPECT_EQ(r.error().message(), "E_NO_SPACE: Unable to transfer source data to target file: disk full");
    EXPECT_FALSE(later_ran);
}

}  // namespace
}  // namespace cdi
