#pragma once
// Admission of the upload server's connections (issue 12.3): connection_slots' policy applied to
// real sockets. A connection holds its slot from accept to the end of its session; an evicted one is
// shut down (shutdown(2) on its descriptor: its pending read ends and its coroutine unwinds and closes
// it). A connection gets TLS state only once its first byte arrived, and must finish its handshake
// within handshake_timeout of being accepted.
#include "server/connection_slots.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace cdi {

class connection_gate;
class upload_server;

// One connection's hold on its slot, released on destruction (with the session's coroutine frame).
class connection_slot {
public:
    connection_slot(connection_gate& gate, connection_slots::id id, std::chrono::steady_clock::time_point deadline)
        : gate_(&gate), id_(id), deadline_(deadline) {}
    connection_slot(connection_slot&& o) noexcept
        : gate_(std::exchange(o.gate_, nullptr)), id_(o.id_), deadline_(o.deadline_) {}
    connection_slot& operator=(connection_slot&&) = delete;
    ~connection_slot();

    // False once evicted.
    bool held() const;
    // Accept time + handshake_timeout: the first byte and the whole TLS handshake are due by then.
    std::chrono::steady_clock::time_point handshake_deadline() const { return deadline_; }
    // After the handshake: a verified upload client is never evicted.
    void handshake_done(const SSL* ssl);

private:
    friend class connection_gate;
    connection_gate* gate_;
    connection_slots::id id_;
    std::chrono::steady_clock::time_point deadline_;
};

class connection_gate {
public:
    static constexpr auto handshake_timeout = std::chrono::seconds(10);

    connection_gate(connection_slots::limits limits, std::string client_name)
        : slots_(limits), client_name_(std::move(client_name)) {}

    // A just-accepted socket: its slot, or nullopt when refused (the caller closes the socket).
    std::optional<connection_slot> open(int fd);
    // Its first byte arrived: may it have TLS state? (false: the caller closes it).
    bool start_tls(connection_slot& slot);
    const connection_slots& slots() const { return slots_; }

private:
    friend class connection_slot;
    void evict(connection_slots::id id);
    void release(connection_slots::id id);

    connection_slots slots_;
    std::string client_name_;
    std::unordered_map<connection_slots::id, int> fds_;
};

// An accepted connection's life: wait for its first byte (no TLS state, no buffer), take TLS state,
// then the session (http_session).
boost::asio::awaitable<void> serve_connection(upload_server& server, boost::asio::ip::tcp::socket socket,
                                              connection_slot slot);

}  // namespace cdi
