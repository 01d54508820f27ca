#pragma once
// The TCP listener both HTTPS servers share (the importer's metrics endpoint and the upload server):
// where to listen, and how to keep accepting when the process is out of file descriptors.
//
// Address rule (Go's net.Listen("tcp", addr), which CDI's servers use): an empty address or an
// unspecified one ("0.0.0.0", "::") listens on every address of both families, as one "::" socket
// with IPV6_V6ONLY off; where IPv6 is off (no AF_INET6 socket, or "::" cannot be bound) it falls back
// to IPv4 0.0.0.0. Any other address is a literal IP address, listened on as given.
//
// Accept failures (EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued, so an
// immediate retry fails again) are retried after a delay that starts at 5 ms and doubles up to 1 s,
// and is reset by the next successful accept: one log line per retry, never a busy loop.
#include "cdi/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cdi {

// The delays between failed accepts: pure policy.
class accept_backoff {
public:
    static constexpr std::chrono::milliseconds first{5};
    static constexpr std::chrono::milliseconds max{1000};

    // After a failed accept: how long to wait before the next one.
    std::chrono::milliseconds failed() noexcept;
    // After a successful accept.
    void succeeded() noexcept { next_ = first; }

private:
    std::chrono::milliseconds next_ = first;
};

// True for an address that means "every address": "", "0.0.0.0", "::".
bool is_wildcard_listen_address(const std::string& address);

// Opens, binds and listens `acceptor` per the address rule (SO_REUSEADDR, the system's maximum
// backlog). On success returns how to show the endpoint in logs ("[::]:8443", "0.0.0.0:8443",
// "127.0.0.1:8443", "[::1]:8443"; the bound port, so port 0 shows the ephemeral one). Errors:
// errc::bad_request for an address that is not an IP literal, errc::io naming the endpoint when it
// cannot listen.
result<std::string> listen_tcp(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address,
                               std::uint16_t port);

// Raises the soft RLIMIT_NOFILE to the hard limit (a server's connections are file descriptors; the
// default soft limit of 1024 is far below what the pod may use). Returns the soft limit now in force.
std::uint64_t raise_open_file_limit() noexcept;

// The next accepted connection, waiting out accept failures with the backoff (each logged as a
// warning prefixed with `who`). nullopt once the acceptor was closed or the wait canceled.
boost::asio::awaitable<std::optional<boost::asio::ip::tcp::socket>> accept_next(
    boost::asio::ip::tcp::acceptor& acceptor, accept_backoff& backoff, std::string who);

}  // namespace cdi
