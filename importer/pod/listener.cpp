#include "importer/pod/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>

namespace cdi {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

boost::system::error_code listen_on(tcp::acceptor& acceptor, const tcp::endpoint& ep, bool dual_stack) {
    boost::system::error_code ec;
    if (acceptor.is_open()) acceptor.close(ec);
    acceptor.open(ep.protocol(), ec);
    if (!ec && dual_stack) acceptor.set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        boost::system::error_code ignored;
        acceptor.close(ignored);
    }
    return ec;
}

std::string show(const asio::ip::address& addr, std::uint16_t port) {
    const std::string a = addr.to_string();
    return (addr.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

}  // namespace

std::chrono::milliseconds accept_backoff::failed() noexcept {
    const auto now = next_;
    next_ = std::min(next_ * 2, max);
    return now;
}

bool is_wildcard_listen_address(const std::string& address) {
    return address.empty() || address == "0.0.0.0" || address == "::";
}

result<std::string> listen_tcp(tcp::acceptor& acceptor, const std::string& address, std::uint16_t port) {
    boost::system::error_code ec;
    asio::ip::address addr;
    if (is_wildcard_listen_address(address)) {
        addr = asio::ip::address_v6::any();
        ec = listen_on(acceptor, tcp::endpoint(addr, port), true);
        if (ec) {
            spdlog::info("IPv6 unavailable ({} on {}): IPv4 only", ec.message(), show(addr, port));
            addr = asio::ip::address_v4::any();
            ec = listen_on(acceptor, tcp::endpoint(addr, port), false);
        }
    } else {
        addr = asio::ip::make_address(address, ec);
        if (ec) return make_error(errc::bad_request, "invalid listen address \"" + address + "\"");
        ec = listen_on(acceptor, tcp::endpoint(addr, port), false);
    }
    if (ec) return make_error(errc::io, "cannot listen on " + show(addr, port) + ": " + ec.message());
    const auto bound = acceptor.local_endpoint(ec);
    return show(addr, ec ? port : bound.port());
}

std::uint64_t raise_open_file_limit() noexcept {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur < lim.rlim_max) {
        const rlim_t was = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = was;
    }
    return lim.rlim_cur;
}

asio::awaitable<std::optional<tcp::socket>> accept_next(tcp::acceptor& acceptor, accept_backoff& backoff,
                                                        std::string who) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return std::nullopt;
        if (!ec) {
            backoff.succeeded();
            co_return std::move(socket);
        }
        const auto delay = backoff.failed();
        spdlog::warn("{}: accept failed: {}; retrying in {} ms", who, ec.message(), delay.count());
        asio::steady_timer retry(acceptor.get_executor());
        retry.expires_after(delay);
        auto [wec] = co_await retry.async_wait(use_tuple);
        if (wec || !acceptor.is_open()) co_return std::nullopt;
    }
}

}  // namespace cdi
