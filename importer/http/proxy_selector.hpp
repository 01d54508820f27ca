#pragma once
// Which proxy (if any) a request to an origin goes through, from http_proxy / https_proxy /
// no_proxy with the rules of Go's golang.org/x/net/http/httpproxy: http:// origins use http_proxy
// (absolute-form requests), https:// origins use https_proxy (CONNECT tunnel); no_proxy entries
// are "*", an exact host or a domain ("example.com" matches it and its subdomains, ".example.com"
// or "*.example.com" only subdomains), an IP, a CIDR, each optionally ":port"-qualified.
// Unlike Go, loopback origins are not exempt (a test proxy on 127.0.0.1 must be usable).
#include "cdi/error.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_url.hpp"

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cdi {

class proxy_selector {
public:
    // A proxy URL that does not parse, or whose scheme is not http, is errc::bad_request.
    // "host:port" without a scheme means http://host:port, as Go.
    static result<proxy_selector> create(const proxy_settings& settings);

    // The proxy to use for origin, or nullopt to connect directly.
    std::optional<http_url> proxy_for(const http_url& origin) const;

private:
    struct no_proxy_rule {
        enum class kind { any, domain, ip, cidr } type = kind::any;
        std::string host;  // domain: with a leading '.'
        bool match_host = false;  // domain given without a leading dot also matches itself
        boost::asio::ip::address ip;
        unsigned prefix = 0;
        std::string port;  // "" = any
    };

    bool bypass(const http_url& origin) const;

    std::optional<http_url> http_;
    std::optional<http_url> https_;
    std::vector<no_proxy_rule> rules_;
};

}  // namespace cdi
