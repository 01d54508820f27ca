#pragma once
// A key pair and self-signed X.509 certificate generated in memory with OpenSSL 3 (EC P-256,
// SHA-256 signature, serial random, valid from now for `validity`), for the metrics endpoint
// (contract section 7: CDI generates one at start-up with CN "cloner_target"). Nothing touches the
// disk. Owns its EVP_PKEY and X509; move-only.
// Errors: errc::tls_config with OpenSSL's text.
#include "cdi/error.hpp"
#include "importer/pod/openssl_util.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace cdi {

class self_signed_cert {
public:
    static result<self_signed_cert> generate(std::string_view common_name, std::chrono::seconds validity);

    // Installs the certificate and key as ctx's identity.
    result<void> install(boost::asio::ssl::context& ctx) const;
    // The certificate as PEM (for tests and logs; the key never leaves the object).
    result<std::string> certificate_pem() const;

private:
    struct pkey_deleter {
        void operator()(evp_pkey_st* p) const noexcept;
    };

    self_signed_cert(std::unique_ptr<evp_pkey_st, pkey_deleter> key, unique_x509 cert) noexcept
        : key_(std::move(key)), cert_(std::move(cert)) {}

    std::unique_ptr<evp_pkey_st, pkey_deleter> key_;
    unique_x509 cert_;
};

}  // namespace cdi
