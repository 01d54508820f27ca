#pragma once
// The clone source's one request (contract 6.8): a POST of a chunked body to UPLOAD_URL over mutual
// TLS, as CDI's cdi-cloner sends it: TLS >= 1.2, the client certificate and key from PEM text in
// memory (CLIENT_CERT, CLIENT_KEY), the server verified against the PEM bundle SERVER_CA_CERT only
// (not the system roots) and checked for the URL's host name, HTTP/1.1 (no ALPN).
//
// Contract:
// - open() connects, handshakes and sends the request head (Transfer-Encoding: chunked plus the given
//   fields); send() writes one chunk per call (gathered: size line, data, CRLF; no copy); finish()
//   writes the last chunk and reads the response (status and at most 64 KiB of body).
// - The server may answer early (a refusal) and close while the body is still being sent: a failed
//   send() keeps the connection so that response() can still read that answer.
// - Errors: errc::bad_request (the URL is not https), errc::tls_config (a PEM that does not load:
//   never quoting it), errc::source_unreachable (resolve or connect), errc::tls_verify (handshake),
//   errc::io (a send or receive failing, the peer closing), errc::source_http (a malformed response).
// - A dead peer is noticed by the kernel: TCP_USER_TIMEOUT bounds unacknowledged data and keepalive
//   probes a silent connection while the response is awaited (the target fsyncs before it answers).
// Thread-safety: none; one sending thread.
#include "cdi/error.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace cdi {

struct upload_credentials {
    std::string client_cert_pem;
    std::string client_key_pem;
    std::string server_ca_pem;
};

struct upload_response {
    unsigned status = 0;
    std::string body;
};

class upload_client {
public:
    upload_client();
    ~upload_client();
    upload_client(const upload_client&) = delete;
    upload_client& operator=(const upload_client&) = delete;

    result<void> open(const std::string& url, const upload_credentials& creds,
                      const std::vector<std::pair<std::string, std::string>>& fields,
                      std::chrono::seconds dead_peer = std::chrono::seconds(60));
    result<void> send(std::span<const std::byte> chunk);
    // The terminating chunk, then the response.
    result<upload_response> finish();
    // Only the response (after a failed send(): the server's early answer, if it sent one).
    result<upload_response> response();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cdi
