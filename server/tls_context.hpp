#pragma once
// The server's TLS context (contract 6.2, security.md 2.7): serving certificate + key, the client CA
// bundle, ciphers and minimum version. Peer verification is SSL_VERIFY_PEER without
// FAIL_IF_NO_PEER_CERT (Go's VerifyClientCertIfGiven): /healthz needs no certificate, uploads check
// it per request (client_auth). Sessions resume by ticket only (no server-side session cache); a
// resumed session keeps its verified client certificate.
#include "server/upload_config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <string>
#include <vector>

namespace cdi {

// Throws std::runtime_error("E_TLS_CONFIG: ...") on missing, unreadable or mismatched material and
// on a client CA file holding no PEM certificate (CDI bug 10.9: Go then accepts no client at all).
// Never falls back to plaintext.
boost::asio::ssl::context make_tls_context(const upload_config& cfg);

struct cipher_selection {
    std::string tls12;                   // SSL_CTX_set_cipher_list, ':'-separated OpenSSL names
    std::string tls13;                   // SSL_CTX_set_ciphersuites
    std::vector<std::string> dropped;    // names OpenSSL does not know
};

// Splits TLS_CIPHERS (comma-separated OpenSSL or IANA names) into OpenSSL's two lists; IANA names
// of TLS 1.2 suites (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) map to OpenSSL's (ECDHE-RSA-AES128-GCM-SHA256).
cipher_selection select_ciphers(const std::string& csv);

}  // namespace cdi
