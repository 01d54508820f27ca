#pragma once
// One client connection (contract 6.2-6.5): TLS handshake, then HTTP/1.1 requests until the client
// or an error closes it. Every wait has a deadline: handshake and request header 10 s, each body
// read 60 s of silence. What each request gets is decided by request_policy (pure); the session
// performs the I/O of that decision.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/connection_gate.hpp"

namespace cdi {

class upload_server;

// The socket has its slot (connection_gate) and its first byte waiting; the handshake must be done
// by the slot's handshake_deadline().
boost::asio::awaitable<void> run_session(upload_server& server, boost::asio::ip::tcp::socket socket,
                                         connection_slot slot);

}  // namespace cdi
