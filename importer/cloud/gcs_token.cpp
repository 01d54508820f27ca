#include "importer/cloud/gcs_token.hpp"

#include "importer/cloud/error_words.hpp"
#include "importer/http/http_source.hpp"
#include "importer/http/http_url.hpp"
#include "importer/stages/read_small.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace cdi {
namespace {

constexpr std::size_t max_token_response = 64 * 1024;
constexpr std::size_t max_token_bytes = 8 * 1024;  // Google's are ~200 bytes; the header block is bounded
constexpr auto expiry_delta = std::chrono::seconds(10);  // golang.org/x/oauth2's defaultExpiryDelta

}  // namespace

gcs_token_source::gcs_token_source(service_account_key key, http_options opts, const cancel_token& cancel)
    : key_(std::move(key)), opts_(std::move(opts)), cancel_(cancel) {
    opts_.credentials.reset();
    opts_.extra_headers.clear();
    opts_.authorization.clear();
    opts_.authorize = nullptr;
    opts_.sign = nullptr;
    opts_.probe_with_head = false;
}

result<std::string> gcs_token_source::authorization() {
    if (!token_.empty() && std::chrono::steady_clock::now() + expiry_delta < expiry_) return "Bearer " + token_;
    return refresh();
}

result<std::string> gcs_token_source::refresh() {
    auto endpoint = http_url::parse(key_.token_uri);
    if (!endpoint) return error{endpoint.error().code, "the service account key's token_uri: " + endpoint.error().context};
    const std::string where = "oauth2: cannot fetch token from " + endpoint->authority() + ": ";
    auto assertion = jwt_assertion(key_, gcs_scopes, std::chrono::system_clock::now());
    if (!assertion) return assertion.error();
    http_options o = opts_;
    o.post = http_request_body{"application/x-www-form-urlencoded",
                               "grant_type=" + percent_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=" + *assertion};
    o.error_detail = oauth_error_words;
    auto src = http_source::open(key_.token_uri, std::move(o), cancel_);
    if (!src) {
        // The token endpoint's refusal (400 invalid_grant, 401) is an authentication failure; its
        // OAuth error words come after the status (RFC 6749 section 5.2).
        const bool refused = src.error().is(errc::source_http) || src.error().is(errc::auth);
        return error{refused ? make_error_code(errc::auth) : src.error().code, where + src.error().context};
    }
    auto body = read_small(**src, max_token_response, "the token response");
    if (!body) return error{body.error().code, where + body.error().context};
    boost::system::error_code ec;
    auto json = boost::json::parse(*body, ec);
    const auto* obj = ec ? nullptr : json.if_object();
    const auto* token = obj ? obj->if_contains("access_token") : nullptr;
    if (!token || !token->is_string() || token->as_string().empty()) return make_error(errc::auth, where + "the answer holds no access_token");
    std::string t(token->as_string());
    if (t.size() > max_token_bytes || t.find_first_of("\r\n") != std::string::npos)
        return make_error(errc::auth, where + "the access_token is not a usable header value");
    std::int64_t expires_in = 3600;
    if (const auto* e = obj->if_contains("expires_in"); e && e->is_int64()) expires_in = e->as_int64();
    token_ = std::move(t);
    expiry_ = std::chrono::steady_clock::now() + std::chrono::seconds(expires_in);
    return "Bearer " + token_;
}

}  // namespace cdi
