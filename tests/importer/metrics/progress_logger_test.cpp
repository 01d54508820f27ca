// importer/metrics/progress_logger: one klog line per interval while the phase or percent changes,
// none while nothing changes, and a prompt stop when the job ends (the destructor joins at once).
#include "importer/metrics/progress_logger.hpp"

#include "support/log_capture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>
#include <string>
#include <thread>

namespace cdi {
namespace {

using namespace std::chrono_literals;

class progress_logger_test : public ::testing::Test {
protected:
    std::vector<std::string> lines() { return log_.lines(); }
    std::vector<std::string> wait_for_lines(std::size_t n) { return log_.wait_for_lines(n); }

    test::log_capture log_{"%v"};
    progress prog_;
};

TEST_F(progress_logger_test, logs_the_phase_percent_and_bytes_once_while_they_stay_the_same) {
    prog_.set_phase(phase::transfer_data_file);
    prog_.set_wire_total(200);
    prog_.add_wire_bytes(100);
    {
        progress_logger logger(prog_, 10ms);
        ASSERT_EQ(wait_for_lines(1).size(), 1u);
        std::this_thread::sleep_for(200ms);  // about 20 more intervals, nothing changing
    }
    EXPECT_EQ(lines(), (std::vector<std::string>{"TransferDataFile: 50.00% (100 bytes received)\n"}));
}

TEST_F(progress_logger_test, logs_again_when_the_percent_or_the_phase_changes) {
    prog_.set_phase(phase::transfer_scratch);
    prog_.set_wire_total(4);
    {
        progress_logger logger(prog_, 10ms);
        ASSERT_EQ(wait_for_lines(1).size(), 1u);
        prog_.add_wire_bytes(1);
        ASSERT_EQ(wait_for_lines(2).size(), 2u);
        prog_.set_phase(phase::convert);
        ASSERT_EQ(wait_for_lines(3).size(), 3u);
    }
    EXPECT_EQ(lines(), (std::vector<std::string>{"TransferScratch: 0.00% (0 bytes received)\n",
                                                 "TransferScratch: 25.00% (1 bytes received)\n",
                                                 "Convert: 25.00% (1 bytes received)\n"}));
}

TEST_F(progress_logger_test, stops_at_once_when_destroyed_even_mid_interval) {
    const auto start = std::chrono::steady_clock::now();
    { progress_logger logger(prog_, std::chrono::hours(1)); }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_TRUE(lines().empty()) << "logged before its first interval";
}

}  // namespace
}  // namespace cdi
