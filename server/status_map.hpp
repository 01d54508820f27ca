#pragma once
// The ONE place a cdi::error becomes an HTTP status and body (contract 6.5, security.md 5.1).
// Bodies are text/plain and carry only the error's own message (never request headers).
#include "cdi/error.hpp"

#include <string>
#include <string_view>

namespace cdi {

struct http_error {
    unsigned status;
    std::string body;
    bool capacity;  // CDI's IsNoCapacityError: the body (and a log line) carry CDI's capacity words
};

// Capacity (E_TOO_LARGE, E_NO_SPACE) → 400 "Saving stream failed: effective image size is larger
// than the reported available storage: <message>"; an invalid image (unsafe, corrupt, bad,
// ambiguous, format mismatch, empty, too small, decompress), an unsafe archive entry (an invalid
// archive is E_BAD_IMAGE already) and a bad request (a multipart body without its file part:
// CDI's 400 too) → 400 "Saving stream failed: <message>" (CDI answers 500 for most of these; an
// invalid image or archive is the client's error); everything else → 500.
http_error map_error(const error& e);

// A job's error once it is known how the body ended. errc::truncated from the job while the body was
// received in full can only come from a stream inside it (gzip, xz, zstd, a qcow2 or VMDK decoded as
// it arrives, tar, a multipart part, Snappy frames) ending before its own end: the client sent a
// short image, not a short body, so it becomes errc::bad_image (a 400 naming the cause). A body cut
// short, or any other class, is returned unchanged (E_TRUNCATED stays a 500: the transport failed).
error attribute_to_body(error e, bool body_complete);

// A request refused from its header alone, before routing (security.md 2.8, case A9).
enum class request_fault {
    malformed,         // framing RFC 9112 forbids: duplicate or negative Content-Length, Content-Length with Transfer-Encoding
    line_too_long,     // the request line is over its limit
    header_too_large,  // the header section is over its size limit or has too many fields
};

// malformed → 400, line_too_long → 414, header_too_large → 431; the body is
// "E_BAD_REQUEST: <detail>", where detail names the limit and never echoes request bytes.
http_error map_request_fault(request_fault f, std::string_view detail);

}  // namespace cdi
