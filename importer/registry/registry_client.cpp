#include "importer/registry/registry_client.hpp"

#include "importer/http/http_url.hpp"
#include "importer/registry/image_blobs.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace cdi {
namespace {

constexpr std::size_t max_token_response = 1 << 20;
// A bearer token goes into every request's header block: one larger than any real registry hands
// out (JWTs are 1-3 KiB) is refused before a request is built with it (issue 19.1).
constexpr std::size_t max_token_bytes = 8 * 1024;

error prefixed(const error& e, const std::string& prefix) { return error{e.code, prefix + e.context}; }

const std::string* param(const auth_challenge& c, const std::string& key) {
    auto it = c.params.find(key);
    return it == c.params.end() ? nullptr : &it->second;
}

}  // namespace

result<std::unique_ptr<registry_client>> registry_client::connect(image_reference ref, http_options base, const cancel_token& cancel) {
    std::unique_ptr<registry_client> c(new registry_client(std::move(ref), std::move(base), cancel));
    if (auto p = c->ping(); !p) return p.error();
    return c;
}

registry_client::registry_client(image_reference ref, http_options base, const cancel_token& cancel)
    : ref_(std::move(ref)), base_(std::move(base)), credentials_(base_.credentials), cancel_(cancel) {
    base_.credentials.reset();
    base_.extra_headers.clear();
    base_.probe_with_head = false;
    base_.authorization.clear();
    base_.authorize = nullptr;
}

std::string registry_client::base_url() const { return scheme_ + "://" + ref_.api_host(); }

result<void> registry_client::ping() {
    // 200 or 401 both mean "a registry is here"; the 401's challenge is answered per request later.
    auto attempt = [this](unsigned retries) -> result<void> {
        http_options opts = base_;
        opts.max_retries = retries;
        auto src = http_source::open(base_url() + "/v2/", opts, cancel_);
        if (src || src.error().is(errc::auth)) return {};
        return src.error();
    };
    // An insecure registry may not speak TLS at all: do not spend the retries on the TLS attempt.
    auto r = attempt(base_.insecure_tls ? 0 : base_.max_retries);
    // A proxy that broke its protocol is final: never an excuse to try plain http.
    if (r || !base_.insecure_tls || r.error().is(errc::canceled) || r.error().is(errc::proxy)) {
        if (!r) return prefixed(r.error(), "pinging registry " + ref_.api_host() + ": ");
        return {};
    }
    spdlog::warn("registry {} not reachable over https ({}); trying plain http (INSECURE_TLS)", ref_.api_host(), r.error().message());
    scheme_ = "http";
    if (auto h = attempt(base_.max_retries); !h) return prefixed(h.error(), "pinging registry " + ref_.api_host() + ": ");
    return {};
}

result<std::unique_ptr<http_source>> registry_client::get(const std::string& path, std::vector<std::string> headers) {
    http_options opts = base_;
    opts.extra_headers = std::move(headers);
    opts.authorization = authorization_;
    opts.authorize = [this](const std::vector<std::string>& challenges) { return authorize(challenges); };
    return http_source::open(base_url() + path, std::move(opts), cancel_);
}

result<std::string> registry_client::authorize(const std::vector<std::string>& challenges) {
    std::optional<auth_challenge> bearer, basic;
    for (const auto& value : challenges) {
        for (auto& c : parse_www_authenticate(value)) {
            if (c.scheme == "bearer" && !bearer) bearer = std::move(c);
            else if (c.scheme == "basic" && !basic) basic = std::move(c);
        }
    }
    if (bearer) {
        auto token = fetch_token(*bearer);
        if (!token) return token.error();
        authorization_ = "Bearer " + *token;
    } else if (basic) {
        if (!credentials_)
            return make_error(errc::auth, "registry " + ref_.api_host() + " requires credentials and none were given");
        authorization_ = basic_authorization(*credentials_);
    } else {
        return make_error(errc::auth, "registry " + ref_.api_host() + " answered 401 without a usable challenge");
    }
    return authorization_;
}

result<std::string> registry_client::fetch_token(const auth_challenge& bearer) {
    const std::string* realm = param(bearer, "realm");
    if (!realm || realm->empty()) return make_error(errc::auth, "registry " + ref_.api_host() + " sent a bearer challenge without a realm");
    auto realm_url = http_url::parse(*realm);
    if (!realm_url) return prefixed(realm_url.error(), "token realm: ");
    if (credentials_ && !realm_url->tls() && scheme_ == "https" && !base_.insecure_tls)
        return make_error(errc::auth, "token realm " + realm_url->to_string() + " is not https: credentials are not sent over plain http");

    std::string url = *realm + (realm->find('?') == std::string::npos ? "?" : "&");
    bool first = true;
    auto add = [&](const char* key, const std::string& value) {
        url += (first ? "" : "&") + std::string(key) + "=" + percent_encode(value);
        first = false;
    };
    if (const auto* service = param(bearer, "service")) add("service", *service);
    const auto* scope = param(bearer, "scope");
    add("scope", scope ? *scope : "repository:" + ref_.repository + ":pull");

    http_options opts = base_;
    opts.credentials = credentials_;  // to the realm only: http_source binds them to its origin
    auto src = http_source::open(url, opts, cancel_);
    if (!src) return prefixed(src.error(), "token service " + realm_url->authority() + ": ");
    auto body = read_small(**src, max_token_response, "token response of " + realm_url->authority());
    if (!body) return body.error();

    boost::system::error_code ec;
    auto json = boost::json::parse(*body, ec);
    const auto* obj = ec ? nullptr : json.if_object();
    std::string token;
    for (const char* key : {"access_token", "token"}) {
        if (!obj) break;
        if (const auto* v = obj->if_contains(key); v && v->is_string() && !v->as_string().empty()) {
            token = std::string(v->as_string());
            break;
        }
    }
    if (token.empty()) return make_error(errc::auth, "token service " + realm_url->authority() + " answered without a token");
    if (token.size() > max_token_bytes)
        return make_error(errc::auth, "token service " + realm_url->authority() + " answered a token of " +
                                          std::to_string(token.size()) + " bytes (at most " + std::to_string(max_token_bytes) + ")");
    if (token.find_first_of("\r\n") != std::string::npos)
        return make_error(errc::auth, "token service " + realm_url->authority() + " answered a malformed token");
    return token;
}

result<manifest_bytes> registry_client::fetch_manifest(const std::string& reference, const std::string& digest) {
    const std::string what = "manifest " + reference + " of " + ref_.api_host() + "/" + ref_.repository;
    auto src = get("/v2/" + ref_.repository + "/manifests/" + reference, {"Accept: " + manifest_accept_header()});
    if (!src) return prefixed(src.error(), "reading " + what + ": ");
    auto body = read_small(**src, max_manifest_bytes, what);
    if (!body) return body.error();
    return manifest_bytes{std::move(*body), (*src)->content_type(), digest};
}

result<manifest_bytes> registry_client::top_manifest() {
    return fetch_manifest(ref_.manifest_reference(), ref_.digest);
}

result<manifest_bytes> registry_client::manifest(const descriptor& d) { return fetch_manifest(d.digest, d.digest); }

result<source_ptr> registry_client::open_blob(const descriptor& d) {
    auto src = get("/v2/" + ref_.repository + "/blobs/" + d.digest, {});
    if (!src) return prefixed(src.error(), "reading blob " + d.digest + " of " + ref_.api_host() + "/" + ref_.repository + ": ");
    return source_ptr(std::move(*src));
}

}  // namespace cdi
