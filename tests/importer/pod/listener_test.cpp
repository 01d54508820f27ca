#include "importer/pod/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <optional>

#include <unistd.h>

namespace cdi {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

TEST(accept_backoff, starts_at_5_ms_doubles_to_1_s_and_resets_on_success) {
    accept_backoff b;
    const std::chrono::milliseconds expected[] = {5ms, 10ms, 20ms, 40ms, 80ms, 160ms, 320ms, 640ms, 1000ms, 1000ms};
    for (auto e : expected) EXPECT_EQ(b.failed(), e);
    b.succeeded();
    EXPECT_EQ(b.failed(), 5ms);
}

TEST(listen_tcp, wildcards_are_every_address_and_literals_are_kept) {
    for (const char* any : {"", "0.0.0.0", "::"}) EXPECT_TRUE(is_wildcard_listen_address(any)) << any;
    for (const char* one : {"127.0.0.1", "::1", "10.0.0.1"}) EXPECT_FALSE(is_wildcard_listen_address(one)) << one;

    asio::io_context io;
    tcp::acceptor a(io);
    auto shown = listen_tcp(a, "127.0.0.1", 0);
    ASSERT_TRUE(shown) << shown.error().message();
    EXPECT_EQ(*shown, "127.0.0.1:" + std::to_string(a.local_endpoint().port()));

    tcp::acceptor bad(io);
    auto r = listen_tcp(bad, "not-an-address", 0);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_request));
    auto taken = listen_tcp(bad, "127.0.0.1", a.local_endpoint().port());
    ASSERT_FALSE(taken);
    EXPECT_TRUE(taken.error().is(errc::io));
    EXPECT_FALSE(bad.is_open());
}

TEST(listen_tcp, an_empty_address_is_one_dual_stack_socket_where_ipv6_is_on) {
    std::ifstream in("/proc/net/if_inet6");
    if (!in || in.peek() == std::ifstream::traits_type::eof()) GTEST_SKIP() << "IPv6 is off here";
    asio::io_context io;
    tcp::acceptor a(io);
    auto shown = listen_tcp(a, "", 0);
    ASSERT_TRUE(shown) << shown.error().message();
    const auto port = a.local_endpoint().port();
    EXPECT_EQ(*shown, "[::]:" + std::to_string(port));
    for (const char* addr : {"127.0.0.1", "::1"}) {
        tcp::socket c(io);
        boost::system::error_code ec;
        c.connect(tcp::endpoint(asio::ip::make_address(addr), port), ec);
        EXPECT_FALSE(ec) << addr << ": " << ec.message();
    }
}

TEST(raise_open_file_limit, raises_the_soft_limit_to_the_hard_one) {
    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    const rlimit saved = lim;
    if (lim.rlim_max < 64) GTEST_SKIP() << "hard limit too low to test";
    lim.rlim_cur = 32;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
    EXPECT_EQ(raise_open_file_limit(), saved.rlim_max);
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    EXPECT_EQ(lim.rlim_cur, saved.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &saved);
}

// accept_next under EMFILE: each failed accept waits out the backoff, so a connection queued while
// the process has no descriptor left costs a handful of attempts, not a busy loop; it is accepted
// once a descriptor is free.
TEST(accept_next, waits_out_emfile_with_the_backoff_and_accepts_once_a_descriptor_is_free) {
#if defined(__SANITIZE_ADDRESS__)
    // The sanitizer runtimes need descriptors of their own (UBSan's vptr check probes memory through
    // a pipe): with none left they report Asio's executor calls as invalid. The release run covers it.
    GTEST_SKIP() << "needs a process without sanitizer runtimes (they open descriptors themselves)";
#endif
    asio::io_context io;
    tcp::acceptor a(io);
    ASSERT_TRUE(listen_tcp(a, "127.0.0.1", 0));
    tcp::socket client(io);
    client.connect(a.local_endpoint());

    rlimit lim{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
    const rlimit saved = lim;
    // No descriptor left: the soft limit at the lowest free descriptor number.
    const int lowest_free = ::dup(0);
    ASSERT_GE(lowest_free, 0);
    ::close(lowest_free);
    lim.rlim_cur = static_cast<rlim_t>(lowest_free);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);

    accept_backoff backoff;
    std::optional<tcp::socket> accepted;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        accepted = co_await accept_next(a, backoff, "test");
    }, asio::detached);
    const auto start = std::chrono::steady_clock::now();
    io.run_for(300ms);
    EXPECT_FALSE(accepted);
    // 5+10+20+40+80+160 ms: at most 7 attempts in 300 ms.
    EXPECT_GE(backoff.failed(), 160ms);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    io.run_for(2s);
    EXPECT_TRUE(accepted);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace cdi
