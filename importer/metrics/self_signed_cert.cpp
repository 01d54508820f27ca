#include "importer/metrics/self_signed_cert.hpp"
#include "importer/pod/openssl_util.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>

namespace cdi {
namespace {


error tls_error(std::string_view what) {
    return make_error(errc::tls_config, std::string(what) + ": " + openssl_error_text());
}

struct bn_deleter {
    void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};

}  // namespace

void self_signed_cert::pkey_deleter::operator()(evp_pkey_st* p) const noexcept { EVP_PKEY_free(p); }

result<self_signed_cert> self_signed_cert::generate(std::string_view common_name, std::chrono::seconds validity) {
    std::unique_ptr<EVP_PKEY, pkey_deleter> key(EVP_EC_gen("P-256"));
    if (!key) return tls_error("generating a P-256 key");
    unique_x509 cert(X509_new());
    if (!cert) return tls_error("X509_new");

    // 159 random bits: positive and within RFC 5280's 20-octet limit.
    std::unique_ptr<BIGNUM, bn_deleter> serial(BN_new());
    if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
        return tls_error("certificate serial number");
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return tls_error("X509_set_version");
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity.count())) == nullptr)
        return tls_error("certificate validity");

    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.data()),
                                   static_cast<int>(common_name.size()), -1, 0) != 1)
        return tls_error("certificate common name");
    if (X509_set_issuer_name(cert.get(), name) != 1) return tls_error("X509_set_issuer_name");
    if (X509_set_pubkey(cert.get(), key.get()) != 1) return tls_error("X509_set_pubkey");
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return tls_error("X509_sign");
    return self_signed_cert(std::move(key), std::move(cert));
}

result<void> self_signed_cert::install(boost::asio::ssl::context& ctx) const {
    SSL_CTX* native = ctx.native_handle();
    if (SSL_CTX_use_certificate(native, cert_.get()) != 1) return tls_error("SSL_CTX_use_certificate");
    if (SSL_CTX_use_PrivateKey(native, key_.get()) != 1) return tls_error("SSL_CTX_use_PrivateKey");
    if (SSL_CTX_check_private_key(native) != 1) return tls_error("SSL_CTX_check_private_key");
    return {};
}

result<std::string> self_signed_cert::certificate_pem() const {
    unique_bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) return tls_error("PEM_write_bio_X509");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace cdi
