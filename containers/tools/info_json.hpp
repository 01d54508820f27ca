#pragma once
// The body of GET /info: {"env":["K=V",...]}, the server process environment in order (contract
// 1.7). The importer turns it into the PVC's labels. Strings are escaped as Go's encoding/json does:
// '"', '\\', control characters, '<', '>', '&', U+2028 and U+2029 as escapes, and every byte that is
// not valid UTF-8 as \ufffd, so any JSON parser (Boost.JSON validates UTF-8) accepts the body.
#include <string>
#include <string_view>

namespace cdi {

void append_json_string(std::string& out, std::string_view text);

// envp: a NULL-terminated array of "K=V" strings (environ).
std::string environment_json(const char* const* envp);

}  // namespace cdi
