#include "importer/http/tls_client_context.hpp"
#include "importer/pod/openssl_util.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

namespace cdi {
namespace {

namespace fs = std::filesystem;



// Adds every certificate of one PEM file to store; returns how many were found (0: none, or the
// file is not PEM). A certificate already in the store is not an error.
std::size_t add_pem_file(X509_STORE* store, const fs::path& file) {
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) {
        ERR_clear_error();
        return 0;
    }
    std::size_t n = 0;
    for (;;) {
        std::unique_ptr<X509, x509_deleter> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) break;
        if (X509_STORE_add_cert(store, cert.get()) == 1) ++n;
        else if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_CERT_ALREADY_IN_HASH_TABLE) ++n;
        ERR_clear_error();
    }
    ERR_clear_error();  // the PEM reader's "no start line" at the end of the file
    return n;
}

}  // namespace

result<tls_client_context> tls_client_context::create(const http_options& opts) {
    tls_client_context out;
    out.ctx_ = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    SSL_CTX* ctx = out.ctx_->native_handle();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return make_error(errc::tls_config, "cannot require TLS 1.2: " + openssl_error_text());
    out.ctx_->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_compression);

    if (opts.insecure_tls) {
        out.verify_ = false;
        out.trust_ = "none (insecure TLS: verification disabled)";
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        return out;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        out.warnings_.push_back("cannot load the system CA roots: " + openssl_error_text());
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    std::string dirs;
    for (const auto& dir : opts.ca_dirs) {
        dirs += (dirs.empty() ? "" : ", ") + dir.string();
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        if (ec) return make_error(errc::tls_config, "cannot read CA directory " + dir.string() + ": " + ec.message());
        for (; it != fs::directory_iterator(); it.increment(ec)) {
            const auto& entry = *it;
            const auto name = entry.path().filename().string();
            if (name.empty() || name[0] == '.') continue;  // ..data and friends of a ConfigMap mount
            std::error_code type_ec;
            if (!entry.is_regular_file(type_ec)) continue;  // follows symlinks, as a mounted ConfigMap has
            const auto added = add_pem_file(store, entry.path());
            if (added == 0) out.warnings_.push_back("no PEM certificate in " + entry.path().string());
            out.custom_certs_ += added;
        }
        if (ec) return make_error(errc::tls_config, "cannot read CA directory " + dir.string() + ": " + ec.message());
    }
    out.trust_ = dirs.empty() ? "the system roots" : "the system roots or the configured CA directories (" + dirs + ")";
    for (const auto& w : out.warnings_) spdlog::warn("{}", w);
    return out;
}

}  // namespace cdi
