#pragma once
// AWS Signature Version 4 (AWS's "Signature Version 4 signing process"): the canonical request,
// the string to sign, the signing key derived from the secret, and the Authorization header. Pure
// functions of their inputs (the time is an argument), tested against AWS's published vectors.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdi {

struct sigv4_credentials {
    std::string access_key_id;
    std::string secret_access_key;  // never logged, never put in an error context
};

struct sigv4_request {
    std::string method;           // "GET"
    std::string canonical_uri;    // the path exactly as sent, already URI-encoded ("/bucket/key")
    std::string canonical_query;  // already canonical: sorted, encoded name=value pairs joined by '&'
    // Every header to sign, Host included (as sent); names in any case, values raw.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string payload_hash;     // lower-case hex SHA-256 of the body (or "UNSIGNED-PAYLOAD")
};

// SHA-256 of an empty body, in lower-case hex: a GET's x-amz-content-sha256.
inline constexpr std::string_view empty_payload_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// "20150830T123600Z" (x-amz-date) of a point in time, UTC.
std::string amz_date(std::chrono::system_clock::time_point t);

// The canonical request: method, URI, query, the canonical headers (lower-case names, sorted,
// values trimmed with inner runs of blanks folded to one), the signed header list, the payload hash.
std::string canonical_request(const sigv4_request& r);
// "host;range;x-amz-content-sha256;x-amz-date": the lower-case names, sorted, joined by ';'.
std::string signed_headers(const sigv4_request& r);
// "AWS4-HMAC-SHA256\n<amz_date>\n<date>/<region>/<service>/aws4_request\n<hex sha256 of canonical>".
std::string string_to_sign(const std::string& canonical, std::string_view amz_date, std::string_view region, std::string_view service);
// "AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=<list>, Signature=<hex>".
std::string sigv4_authorization(const sigv4_request& r, const sigv4_credentials& c, std::string_view amz_date,
                                std::string_view region, std::string_view service);

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

}  // namespace cdi
