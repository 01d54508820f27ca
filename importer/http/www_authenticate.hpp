#pragma once
// WWW-Authenticate header values (RFC 7235 section 4.1) as registries send them:
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"
// and several challenges in one value: `Basic realm="x", Bearer realm="y",service="z"`.
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cdi {

struct auth_challenge {
    std::string scheme;                         // lower-case: "bearer", "basic"
    std::map<std::string, std::string> params;  // keys lower-case, values unquoted (\" escapes resolved);
                                                // a token68 credential ("Negotiate abc==") is stored under
                                                // the key "" (no auth-param can have an empty name)
};

// The challenge list of one header value, in order. Tolerant: a malformed auth-param (no value, a
// bad character, an unterminated quoted-string) is skipped up to the next top-level comma; a
// malformed scheme skips that list element. A repeated parameter keeps its first value.
std::vector<auth_challenge> parse_www_authenticate(std::string_view value);

}  // namespace cdi
