#pragma once
// Upload authorization (contract 6.2, security.md 2.8): the client presented a certificate chain
// that verified against CLIENT_CERT_FILE, and the LEAF certificate's subject CN equals CLIENT_NAME
// exactly. (CDI accepts a match on any certificate of the presented chain; we do not.)
#include <openssl/ssl.h>

#include <string>

namespace cdi {

// The leaf's subject CN, or empty when there is no peer certificate or no CN.
std::string peer_common_name(const SSL* ssl);

// True when the handshake verified a peer certificate whose CN is client_name. An empty
// client_name authorizes nobody.
bool client_authorized(const SSL* ssl, const std::string& client_name);

}  // namespace cdi
