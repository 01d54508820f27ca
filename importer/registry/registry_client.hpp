#pragma once
// A container registry over the HTTP API v2 (docker:// references, contract section 5), on top of
// http_source: so TLS trust (IMPORTER_CERT_DIR, /proxycerts/), proxies, redirects that never carry
// credentials to another origin, retries and Range resumes are the HTTP importer's.
//
// Authentication as the distribution spec and containers/image do it: the registry is pinged at
// /v2/; a 401 on any request is answered from its WWW-Authenticate challenge, either a bearer token
// fetched from the challenge's realm (service and scope from the challenge, the credentials sent
// only to the realm, never over plain HTTP unless the registry itself is insecure) or basic
// credentials. The token is kept for later requests and fetched again when one answers 401 (expired).
//
// INSECURE_TLS: certificates are not verified, and a registry that does not speak TLS is reached
// over plain HTTP (containers/image's fallback).
#include "cdi/progress.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_source.hpp"
#include "importer/registry/image_reference.hpp"
#include "importer/registry/image_source.hpp"
#include "importer/http/www_authenticate.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cdi {

class registry_client final : public image_source {
public:
    // base: the importer's HTTP settings (trust, proxy, timeouts); its credentials are the
    // registry's (IMPORTER_ACCESS_KEY_ID / IMPORTER_SECRET_KEY) and its extra headers are not used.
    // Pings the registry. Errors: http_source's (unreachable, TLS, timeout, canceled).
    // cancel must outlive the client, and the client every source it opened.
    static result<std::unique_ptr<registry_client>> connect(image_reference ref, http_options base, const cancel_token& cancel);

    registry_client(const registry_client&) = delete;
    registry_client& operator=(const registry_client&) = delete;

    result<manifest_bytes> top_manifest() override;
    result<manifest_bytes> manifest(const descriptor& d) override;
    result<source_ptr> open_blob(const descriptor& d) override;
    std::string name() const override { return ref_.to_string(); }

    // "https" or "http" (after the insecure fallback).
    const std::string& scheme() const noexcept { return scheme_; }

private:
    registry_client(image_reference ref, http_options base, const cancel_token& cancel);

    result<void> ping();
    // A GET of path on the registry with the current token and the 401 handler.
    result<std::unique_ptr<http_source>> get(const std::string& path, std::vector<std::string> headers);
    result<manifest_bytes> fetch_manifest(const std::string& reference, const std::string& digest);
    // http_options::authorize: the Authorization value to repeat a 401'd request with.
    result<std::string> authorize(const std::vector<std::string>& challenges);
    result<std::string> fetch_token(const auth_challenge& bearer);
    std::string base_url() const;

    image_reference ref_;
    http_options base_;  // no credentials, no extra headers: those are decided per request here
    std::optional<basic_credentials> credentials_;
    const cancel_token& cancel_;
    std::string scheme_ = "https";
    std::string authorization_;  // the current "Bearer …" or "Basic …" value, empty until challenged
};

}  // namespace cdi
