#pragma once
// A service account's OAuth 2.0 access token (the JWT bearer flow, RFC 7523, as golang.org/x/oauth2/jwt
// runs it for CDI's storage client): POST to the key's token_uri of
// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt_assertion>, answered with
// {"access_token", "expires_in", "token_type"}. The token is reused until 10 s before it expires
// (oauth2's expiry delta), or until the storage server refuses it.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"
#include "importer/cloud/service_account.hpp"
#include "importer/http/http_options.hpp"

#include <chrono>
#include <string>

namespace cdi {

class gcs_token_source {
public:
    // opts: the trust, proxies and timeouts of the import (IMPORTER_CERT_DIR, INSECURE_TLS, proxies);
    // cancel must outlive the source.
    gcs_token_source(service_account_key key, http_options opts, const cancel_token& cancel);

    // "Bearer <token>": the cached token while it is fresh, else a new one.
    result<std::string> authorization();
    // A new token whatever the cache holds. Errors: errc::auth when the token endpoint refuses the
    // assertion (its OAuth error code and description, never the assertion), the HTTP client's
    // classes when it cannot be reached, errc::auth for an answer without a usable token.
    result<std::string> refresh();

private:
    service_account_key key_;
    http_options opts_;
    const cancel_token& cancel_;
    std::string token_;
    std::chrono::steady_clock::time_point expiry_{};
};

}  // namespace cdi
