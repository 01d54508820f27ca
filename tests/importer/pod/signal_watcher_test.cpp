// importer/pod/signal_watcher: SIGTERM (or SIGINT) cancels the job's token; a job that has not ended
// within the grace period is ended for it: staged scratch files removed, exit 1. Signals are sent to
// the whole process (kill), as kubelet sends them.
#include "importer/pod/signal_watcher.hpp"

#include "scratch/scratch_file.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace cdi {
namespace {

using namespace std::chrono_literals;

bool canceled_within(const cancel_token& cancel, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cancel.canceled() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    return cancel.canceled();
}

TEST(signal_watcher, sigterm_cancels_the_token) {
    cancel_token cancel;
    signal_watcher watcher(cancel, 20s);
    EXPECT_FALSE(cancel.canceled());
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    EXPECT_TRUE(canceled_within(cancel, 5s));
}

TEST(signal_watcher, sigint_cancels_the_token) {
    cancel_token cancel;
    signal_watcher watcher(cancel, 20s);
    ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
    EXPECT_TRUE(canceled_within(cancel, 5s));
}

TEST(signal_watcher, without_a_signal_nothing_is_canceled_and_it_stops_at_once) {
    cancel_token cancel;
    const auto start = std::chrono::steady_clock::now();
    { signal_watcher watcher(cancel, 20s); }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_FALSE(cancel.canceled());
}

TEST(signal_watcher, a_job_that_ends_within_the_grace_period_is_not_ended_for_it) {
    cancel_token cancel;
    {
        signal_watcher watcher(cancel, 1s);
        ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
        ASSERT_TRUE(canceled_within(cancel, 5s));
    }  // the job ended: the watcher is destroyed within the grace period
    std::this_thread::sleep_for(1500ms);  // past the grace period: still alive to finish the test
    SUCCEED();
}

TEST(signal_watcher_death, a_job_still_running_after_the_grace_period_exits_1_with_scratch_removed) {
    test::temp_dir dir;
    const auto staged = dir / "tmpimage";
    EXPECT_EXIT(
        {
            auto file = scratch_file::adopt(staged);
            if (!file) std::_Exit(3);
            std::ofstream(staged) << "half an image";
            cancel_token cancel;
            signal_watcher watcher(cancel, 1s);
            ::kill(::getpid(), SIGTERM);
            std::this_thread::sleep_for(30s);  // a job that ignores its token
            std::_Exit(0);
        },
        ::testing::ExitedWithCode(1), "");
    EXPECT_FALSE(std::filesystem::exists(staged)) << "the staged scratch file was left";
}

}  // namespace
}  // namespace cdi
