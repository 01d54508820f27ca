#pragma once
// A Google service-account key file (GOOGLE_APPLICATION_CREDENTIALS; CDI mounts it at
// /google/credentials.json) and the OAuth 2.0 JWT bearer assertion made from it (RFC 7523, as
// golang.org/x/oauth2/jwt builds it for the Go storage client): header {"alg":"RS256","typ":"JWT",
// "kid":<private_key_id>}, claims iss = client_email, scope = the scopes joined by ' ', aud =
// token_uri, iat = now - 10 s, exp = iat + 1 h; signed with the key's RSA private key. Pure but for
// reading the file. The private key appears in no message.
#include "cdi/error.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace cdi {

// The Go storage client's scopes (cloud.google.com/go/storage NewClient).
inline constexpr std::string_view gcs_scopes =
    "https://www.googleapis.com/auth/devstorage.full_control https://www.googleapis.com/auth/cloud-platform";
// golang.org/x/oauth2/google's token URL when the key names none.
inline constexpr std::string_view google_token_uri = "https://oauth2.googleapis.com/token";

struct service_account_key {
    std::string client_email;
    std::string private_key_id;
    std::string private_key;  // PEM; never logged, never put in an error context
    std::string token_uri;    // google_token_uri when the file has none
};

// Errors (errc::bad_request): not JSON, not an object, "type" other than "service_account", a
// missing client_email or private_key. The file's text is never quoted.
result<service_account_key> parse_service_account_key(std::string_view json);
// errc::io when the file cannot be read, else parse_service_account_key's errors, naming the path.
result<service_account_key> read_service_account_key(const std::filesystem::path& file);

// The signed assertion "<b64url header>.<b64url claims>.<b64url RS256 signature>".
// errc::bad_request when the private key is not a PEM RSA key.
result<std::string> jwt_assertion(const service_account_key& key, std::string_view scope, std::chrono::system_clock::time_point now);

// Base64url without padding (RFC 7515 section 2).
std::string base64url(std::string_view data);

}  // namespace cdi
