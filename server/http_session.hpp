#pragma once
// One client connection (contract 6.2-6.5): TLS handshake, then HTTP/1.1 requests until the client
// or an error closes it. Every wait has a deadline: handshake and request header 10 s, each body
// read 60 s of silence. Routing is by exact path (Go's ServeMux), the query string ignored.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/connection_gate.hpp"

#include <string_view>

namespace cdi {

class upload_server;

enum class route {
    not_found,
    healthz,
    upload,             // /v1beta1/upload, /v1alpha1/upload: sync
    upload_async,       // .../upload-async
    upload_archive,     // .../upload-archive
    upload_form,        // .../upload-form
    upload_form_async,  // .../upload-form-async
};

// The route of a request target (path plus optional query).
route route_of(std::string_view target);

// The socket has its slot (connection_gate) and its first byte waiting; the handshake must be done
// by the slot's handshake_deadline().
boost::asio::awaitable<void> run_session(upload_server& server, boost::asio::ip::tcp::socket socket,
                                         connection_slot slot);

}  // namespace cdi
