#pragma once
// The HTTP/1.x request head as the image server reads it (RFC 9112): request line, header fields,
// and the path a request names. Only what a read-only file server needs; no request bodies.
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdi {

struct http_request {
    std::string method;
    std::string target;  // the request-target as sent
    int minor_version = 1;  // HTTP/1.<minor_version>
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed

    // The first value of a header (name in lower case); nullopt when absent.
    std::optional<std::string_view> header(std::string_view name) const;
    // Whether the connection stays open after the response (HTTP/1.1 unless "close"; HTTP/1.0 only
    // with "keep-alive"), and no body is announced (we never read request bodies).
    bool keep_alive() const;
    // Whether the request announces a body (Content-Length other than 0, or Transfer-Encoding).
    bool has_body() const;
};

// Parses a request head: the bytes before the blank line, lines ended by CRLF or LF. nullopt for
// anything malformed (the caller answers 400): a bad request line, a version other than HTTP/1.0
// and HTTP/1.1, a header line without ':' or with whitespace before it, obsolete line folding.
std::optional<http_request> parse_request_head(std::string_view head);

// The path a request-target names, percent-decoded and cleaned like Go's path.Clean ("//a/./b/../c"
// is "/c"; ".." never climbs above "/"); a trailing '/' is kept (a directory name, never the file).
// Accepts origin-form ("/p?q") and absolute-form ("http://host/p"); the query is dropped. nullopt for
// other forms, a bad %-escape, or a decoded NUL.
std::optional<std::string> request_path(std::string_view target);

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for Date and Last-Modified.
std::string http_date(std::time_t t);

// s without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim_ows(std::string_view s);

}  // namespace cdi
