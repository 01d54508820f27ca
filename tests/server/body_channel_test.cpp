#include "server/body_channel.hpp"

#include "cdi/progress.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace cdi {
namespace {

// An async upload answers 200 when the job validated the image: the job thread's mark_validated()
// wakes the session waiting on wake() (as http_session's await_validation does), with no timer.
TEST(body_channel, the_jobs_validation_wakes_the_io_side_waiting_without_a_deadline) {
    boost::asio::io_context io;
    auto channel = std::make_shared<body_channel>(io.get_executor(), 1);
    progress prog;
    int listened = 0;
    prog.on_validated([&, channel] {
        ++listened;
        channel->notify_io();
    });
    bool woken = false;
    channel->wake().expires_at(boost::asio::steady_timer::time_point::max());
    channel->wake().async_wait([&](const boost::system::error_code&) { woken = prog.validated(); });
    std::jthread job([&] {
        prog.mark_validated();
        prog.mark_validated();  // the listener hears the first call only
    });
    job.join();
    io.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(woken);
    EXPECT_EQ(listened, 1);
}

}  // namespace
}  // namespace cdi
