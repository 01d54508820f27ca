#include "server/connection_gate.hpp"

#include "server/client_auth.hpp"
#include "server/http_session.hpp"
#include "server/upload_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <memory>

namespace cdi {

namespace asio = boost::asio;

connection_slot::~connection_slot() {
    if (gate_ != nullptr) gate_->release(id_);
}

bool connection_slot::held() const { return gate_ != nullptr && gate_->slots_.holds(id_); }

void connection_slot::handshake_done(const SSL* ssl) {
    if (gate_ != nullptr && client_authorized(ssl, gate_->client_name_)) gate_->slots_.authenticate(id_);
}

std::optional<connection_slot> connection_gate::open(int fd) {
    connection_slots::id id = 0;
    const auto d = slots_.open(id);
    if (d.evict) evict(*d.evict);
    if (!d.admitted) {
        spdlog::debug("connection refused: {} connections held, all authenticated", slots_.connections());
        return std::nullopt;
    }
    fds_.emplace(id, fd);
    return connection_slot(*this, id, std::chrono::steady_clock::now() + handshake_timeout);
}

bool connection_gate::start_tls(connection_slot& slot) {
    const auto d = slots_.start_tls(slot.id_);
    if (d.evict) evict(*d.evict);
    return d.admitted;
}

void connection_gate::evict(connection_slots::id id) {
    // Debug only: a flood evicts once per connection, and must not become a flood of log lines.
    spdlog::debug("connection limit reached: closing the oldest unauthenticated connection");
    if (auto it = fds_.find(id); it != fds_.end()) {
        ::shutdown(it->second, SHUT_RDWR);
        fds_.erase(it);
    }
}

void connection_gate::release(connection_slots::id id) {
    slots_.close(id);
    fds_.erase(id);
}

namespace {

// True once the socket has a byte to read; false at the deadline or when it failed.
asio::awaitable<bool> first_byte(asio::ip::tcp::socket& socket, std::chrono::steady_clock::time_point deadline) {
    // The timer's handler may run after this frame is gone: it reaches the socket through a pointer
    // cleared once the wait is over.
    auto target = std::make_shared<asio::ip::tcp::socket*>(&socket);
    asio::steady_timer timer(socket.get_executor());
    timer.expires_at(deadline);
    timer.async_wait([target](const boost::system::error_code& ec) {
        if (!ec && *target != nullptr) (*target)->cancel();
    });
    auto [ec] = co_await socket.async_wait(asio::ip::tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    *target = nullptr;
    timer.cancel();
    co_return !ec;
}

}  // namespace

asio::awaitable<void> serve_connection(upload_server& server, asio::ip::tcp::socket socket, connection_slot slot) {
    const bool arrived = co_await first_byte(socket, slot.handshake_deadline());
    if (!arrived || !slot.held() || !server.gate().start_tls(slot)) co_return;
    // A coroutine of its own: this frame is freed while the session runs.
    auto ex = socket.get_executor();
    asio::co_spawn(ex, run_session(server, std::move(socket), std::move(slot)), asio::detached);
}

}  // namespace cdi
