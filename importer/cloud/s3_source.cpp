#include "importer/cloud/s3_source.hpp"

#include "cdi/ascii.hpp"
#include "importer/cloud/error_words.hpp"
#include "importer/cloud/s3_endpoint.hpp"
#include "importer/cloud/sigv4.hpp"
#include "importer/http/http_url.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace cdi {
namespace {

// Adds x-amz-content-sha256, x-amz-date and the Authorization of AWS Signature V4 over every header
// the request carries (Host first, Range and If-Range on a resume), but User-Agent (AWS's SDKs leave
// it out: proxies rewrite it).
void sign_s3(const sigv4_credentials& key, const std::string& region, std::string_view method, const http_url& url,
             std::vector<std::pair<std::string, std::string>>& headers) {
    const std::string date = amz_date(std::chrono::system_clock::now());
    headers.emplace_back("x-amz-content-sha256", std::string(empty_payload_sha256));
    headers.emplace_back("x-amz-date", date);
    sigv4_request r;
    r.method = std::string(method);
    const auto& target = url.target();
    const auto q = target.find('?');
    r.canonical_uri = target.substr(0, q);
    r.canonical_query = q == std::string::npos ? std::string() : target.substr(q + 1);  // none: our URL has no query
    r.headers.emplace_back("Host", url.host_header());
    for (const auto& h : headers) {
        if (!ascii::iequals(h.first, "User-Agent") && !ascii::iequals(h.first, "Authorization")) r.headers.push_back(h);
    }
    r.payload_hash = std::string(empty_payload_sha256);
    headers.emplace_back("Authorization", sigv4_authorization(r, key, date, region, "s3"));
}

}  // namespace

result<std::unique_ptr<http_source>> open_s3_object(std::string_view endpoint, http_options opts, const cancel_token& cancel) {
    auto loc = parse_s3_endpoint(endpoint);
    if (!loc) return loc.error();
    spdlog::info("Endpoint {}, bucket {}, object {}, region {}", http_url::parse(loc->url)->authority(), loc->bucket, loc->key, loc->region);
    if (opts.credentials) {
        sigv4_credentials key{opts.credentials->user, opts.credentials->password};
        opts.sign = [key = std::move(key), region = loc->region](std::string_view method, const http_url& url,
                                                                  std::vector<std::pair<std::string, std::string>>& headers) {
            sign_s3(key, region, method, url, headers);
        };
    } else {
        spdlog::info("no IMPORTER_ACCESS_KEY_ID and IMPORTER_SECRET_KEY: reading the object anonymously");
    }
    opts.credentials.reset();
    opts.authorization.clear();
    opts.authorize = nullptr;
    opts.extra_headers.clear();
    opts.probe_with_head = false;
    opts.error_detail = s3_error_words;
    auto src = http_source::open(loc->url, std::move(opts), cancel);
    if (!src) return error{src.error().code, "could not get s3 object: \"" + s3_object_name(*loc) + "\": " + src.error().context};
    return src;
}

}  // namespace cdi
