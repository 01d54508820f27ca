#pragma once
// The OpenSSL client context of one HTTP source, built once: TLS >= 1.2, peer verification against
// the system default roots plus every PEM certificate in each configured CA directory, or no
// verification at all when insecure_tls is set (then no custom roots are loaded, as CDI).
#include "cdi/error.hpp"
#include "importer/http/http_options.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace cdi {

class tls_client_context {
public:
    // A CA directory that cannot be listed is errc::tls_config naming it; a file in it without any
    // certificate (or unreadable) is only a warning (logged and kept in warnings()), as CDI.
    static result<tls_client_context> create(const http_options& opts);

    boost::asio::ssl::context& native() noexcept { return *ctx_; }
    bool verifies() const noexcept { return verify_; }
    // Where trust comes from, for error contexts: "the system roots and the CA directories [..]".
    const std::string& trust_description() const noexcept { return trust_; }
    const std::vector<std::string>& warnings() const noexcept { return warnings_; }
    std::size_t custom_certificates() const noexcept { return custom_certs_; }

private:
    tls_client_context() = default;

    std::unique_ptr<boost::asio::ssl::context> ctx_;  // heap: its address is stable across moves
    bool verify_ = true;
    std::string trust_;
    std::vector<std::string> warnings_;
    std::size_t custom_certs_ = 0;
};

}  // namespace cdi
