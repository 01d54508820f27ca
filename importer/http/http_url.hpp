#pragma once
// An absolute http:// or https:// URL split into what a connection needs: scheme, host, port, the
// request target, and optional userinfo. Parsing and relative resolution are Boost.URL's.
#include "cdi/error.hpp"
#include "importer/http/http_options.hpp"

#include <boost/url/url_view.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

class http_url {
public:
    // Accepts http/https with a non-empty host; anything else is errc::bad_request with the reason
    // only: the text is never echoed (it may hold a password that a misparse leaves unredacted).
    static result<http_url> parse(std::string_view text);

    // Resolves a Location header against this URL (RFC 3986 section 5); the result must be http(s).
    result<http_url> resolve(std::string_view location) const;

    bool tls() const noexcept { return tls_; }
    const std::string& host() const noexcept { return host_; }  // IPv6 without brackets
    std::uint16_t port() const noexcept { return port_; }
    const std::string& target() const noexcept { return target_; }  // path and query, never empty
    const std::optional<basic_credentials>& userinfo() const noexcept { return userinfo_; }

    // "host:port" with IPv6 in brackets: the Host header, CONNECT's target, error contexts.
    std::string authority() const;
    // The Host header's value: authority() without the scheme's default port (Go's and curl's choice).
    std::string host_header() const;
    // "scheme://host:port": what credentials and extra headers are bound to.
    std::string origin() const;
    bool same_origin(const http_url& other) const noexcept;
    // The URL without userinfo or fragment, safe to log and to send as an absolute-form target.
    std::string to_string() const;

private:
    static result<http_url> from_view(boost::urls::url_view u);

    bool tls_ = false;
    std::string host_;
    std::uint16_t port_ = 0;
    std::string target_;
    std::optional<basic_credentials> userinfo_;
};

// "Basic <base64(user:password)>", the value of an Authorization or Proxy-Authorization header.
std::string basic_authorization(const basic_credentials& c);

// Percent-encodes every byte but RFC 3986's unreserved characters (ALPHA DIGIT - . _ ~) and those in
// `also_keep` (e.g. "/" for a path): a query value, or a file name put into a URL path.
std::string percent_encode(std::string_view s, std::string_view also_keep = {});

}  // namespace cdi
