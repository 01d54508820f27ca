#pragma once
// How the importer talks to an HTTP(S) origin (contract section 4, security.md F). Filled once at
// start-up from the pod's environment (importer_config) and handed to http_source; plain data.
#include "cdi/error.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdi {

class http_url;

struct basic_credentials {
    std::string user;
    std::string password;  // never logged, never put in an error context
};

// http_proxy / https_proxy / no_proxy, as Go's http.ProxyFromEnvironment reads them.
struct proxy_settings {
    std::string http_proxy;   // "http://[user:pass@]host:port" or empty
    std::string https_proxy;  // same; used for https:// origins (tunnelled with CONNECT)
    std::string no_proxy;     // comma-separated hosts, domains (".example.com"), "*", or IPs/CIDRs
};

// A request body: the GET becomes a POST of it (an OAuth 2.0 token request).
struct http_request_body {
    std::string content_type;
    std::string data;
};

// One byte range of a body already streamed, asked for again (http_range_reader.hpp): the answer
// must be a 206 of exactly these bytes of the same representation (the same validators).
struct http_byte_range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;                 // inclusive
    std::optional<std::uint64_t> complete;  // the whole body's length, when the first 200 said it
    std::string etag;                       // the first 200's validators, as sent ("" when absent)
    std::string last_modified;
};

struct http_options {
    // "Name: value" header lines from IMPORTER_EXTRA_HEADER_* and the secret files under
    // /extraheaders/; a line without ':' is ignored (CDI). Sent only to the original origin.
    std::vector<std::string> extra_headers;
    // Sent only when both IMPORTER_ACCESS_KEY_ID and IMPORTER_SECRET_KEY are non-empty, and only to
    // the original origin (scheme, host and port): unlike CDI, never across a redirect to another.
    std::optional<basic_credentials> credentials;
    // Trust: the system roots plus every PEM certificate in these directories (IMPORTER_CERT_DIR,
    // /proxycerts/), unless insecure_tls skips verification altogether (INSECURE_TLS).
    std::vector<std::filesystem::path> ca_dirs;
    bool insecure_tls = false;
    proxy_settings proxy;
    std::string user_agent = "cdi-golang-importer";  // CDI's, which some origins allow-list
    unsigned max_redirects = 10;
    // No byte moved for this long: the request is abandoned (CDI: 10 minutes).
    std::chrono::milliseconds idle_timeout = std::chrono::minutes(10);
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(30);
    // Transient failures (connect/reset/5xx/body cut short) are retried this many times in a row
    // with exponential backoff starting at retry_backoff; progress made resets the count.
    unsigned max_retries = 5;
    std::chrono::milliseconds retry_backoff = std::chrono::seconds(1);
    // Send a HEAD before the GET, as CDI does (its failure is tolerated; a 403 HEAD is common on
    // pre-signed URLs; its answer must come within connect_timeout). It only supplies size_hint()
    // when the GET body has no Content-Length.
    bool probe_with_head = true;
    // Sent as the Authorization header to the original origin from the first request instead of the
    // basic credentials (a registry's cached bearer token).
    std::string authorization;
    // Called when the original origin answers 401, with its WWW-Authenticate values; returns the
    // Authorization value to repeat the request with (at most twice per request), or the error that ends it
    // (registry token auth, contract section 5). Unset: a 401 is final.
    std::function<result<std::string>(const std::vector<std::string>& challenges)> authorize;
    // Called last for every request to the original origin (after Range and If-Range are added, so a
    // resume is signed afresh): appends the headers that sign it, from the method, the URL and the
    // headers so far (S3's Signature V4, importer/cloud/). Host is the URL's host_header(), which
    // http_connection sends first. Unset: requests go unsigned.
    std::function<void(std::string_view method, const http_url& url, std::vector<std::pair<std::string, std::string>>& headers)> sign;
    // Set: the request is a POST of this body instead of the GET (no HEAD probe, no Range resume: a
    // retry sends it again whole).
    std::optional<http_request_body> post;
    // Set: the body of a final non-200 answer from the original origin (its first 4 KiB) is handed
    // to it, and what it returns, when not empty, follows the status in the error's context (an S3
    // error's Code and Message, an OAuth error). It must return one printable line.
    std::function<std::string(std::string_view body)> error_detail;
    // Set: the GET asks for these bytes only, with If-Range, and anything but a 206 of exactly them
    // with the same validators is final (errc::truncated); resumed within the range like a body.
    std::optional<http_byte_range> range;
};

}  // namespace cdi
