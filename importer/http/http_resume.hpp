#pragma once
// The rules for resuming an HTTP body after a dropped connection, as pure functions: what to ask
// for, and whether the answer continues the same representation. http_source does the I/O.
//
// A resume asks "Range: bytes=<offset>-" with "If-Range: <validator>" when the first 200 carried a
// validator (a strong ETag, else Last-Modified): the server then answers 206 for the same body or
// 200 for a changed one. With no validator an If-Range is impossible and a plain Range could splice
// two versions of a changed file, so the body is asked for again from byte 0 and the re-sent prefix
// must equal, byte for byte (CRC-64), what was already delivered.
#include "cdi/error.hpp"
#include "importer/http/http_connection.hpp"
#include "importer/http/http_options.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

// What the first 200 said about the body.
struct body_validators {
    std::optional<std::uint64_t> length;  // Content-Length, nullopt for a chunked body
    std::string etag;                     // as sent, weak or strong; "" when absent
    std::string last_modified;            // "" when absent

    static body_validators of(const http_response_head& first);
    // The If-Range value: a strong ETag, else Last-Modified; "" when there is none (then a resume
    // restarts from byte 0).
    std::string if_range() const;
};

// "bytes <first>-<last>/<complete>"; complete is nullopt for "*".
struct content_range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::optional<std::uint64_t> complete;
};
std::optional<content_range> parse_content_range(std::string_view value);

enum class resume_action {
    append,       // a 206 from offset: its body continues the delivered bytes
    skip_prefix,  // a 200 with the whole body again: read and compare the first offset bytes, then continue
};

// Judges the answer (status 200 or 206; other statuses are the caller's) to a resume request for
// the body whose first 200 had `first`, after `offset` bytes were delivered. max_skip bounds the
// prefix re-read when the server ignored a Range request; a restart without a validator is
// deliberate and unbounded. Errors, all errc::truncated (the body cannot be completed; final):
// a changed ETag, Last-Modified or length, a Content-Range that is malformed, does not start at
// offset, does not run to the end or names another total, a 206 whose Content-Length disagrees
// with its range, a 206 to a request without Range, a prefix too long to skip.
result<resume_action> judge_resume(const body_validators& first, std::uint64_t offset, const http_response_head& again,
                                   std::uint64_t max_skip);

// Judges the answer to a request for bytes [want.first + offset, want.last] of a body streamed
// earlier (http_options::range; offset bytes of the range already delivered). Only a 206 of exactly
// those bytes, with the validators the first 200 had, is taken. Errors, all errc::truncated (the
// bytes cannot be had again; final): another status (a 200: the range was ignored, or If-Range saw
// another representation), another ETag or Last-Modified, a Content-Range that is malformed or
// names other bytes or another total, a Content-Length that disagrees with it.
result<void> judge_range(const http_byte_range& want, std::uint64_t offset, const http_response_head& answer);

}  // namespace cdi
