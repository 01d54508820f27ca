#pragma once
// The ONE place a cdi::error becomes an HTTP status and body (contract 6.5, security.md 5.1).
// Bodies are text/plain and carry only the error's own message (never request headers).
#include "cdi/error.hpp"

#include <string>

namespace cdi {

struct http_error {
    unsigned status;
    std::string body;
    bool capacity;  // CDI's IsNoCapacityError: the body (and a log line) carry CDI's capacity words
};

// Capacity (E_TOO_LARGE, E_NO_SPACE) → 400 "Saving stream failed: effective image size is larger
// than the reported available storage: <message>"; an invalid image (unsafe, corrupt, bad,
// ambiguous, format mismatch, empty, too small, decompress) and a bad request (a multipart body
// without its file part: CDI's 400 too) → 400 "Saving stream failed: <message>"
// (CDI answers 500 for most of these; an invalid image is the client's error); everything else → 500.
http_error map_error(const error& e);

}  // namespace cdi
