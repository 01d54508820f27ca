#include "server/tls_context.hpp"

#include "importer/pod/openssl_util.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <stdexcept>

namespace cdi {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("E_TLS_CONFIG: " + what + ": " + openssl_error_text());
}

struct ctx_deleter {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_deleter {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};

// IANA (standard) name → OpenSSL name for every TLS <= 1.2 cipher this OpenSSL has.
std::map<std::string, std::string> iana_to_openssl() {
    std::map<std::string, std::string> m;
    std::unique_ptr<SSL_CTX, ctx_deleter> ctx(SSL_CTX_new(TLS_method()));
    if (!ctx || SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL") != 1) return m;
    std::unique_ptr<SSL, ssl_deleter> ssl(SSL_new(ctx.get()));
    if (!ssl) return m;
    STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl.get());
    for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
        if (const char* std_name = SSL_CIPHER_standard_name(c)) m[std_name] = SSL_CIPHER_get_name(c);
    }
    return m;
}

bool openssl_knows(const std::string& name) {
    std::unique_ptr<SSL_CTX, ctx_deleter> ctx(SSL_CTX_new(TLS_method()));
    const bool ok = ctx && SSL_CTX_set_cipher_list(ctx.get(), name.c_str()) == 1;
    ERR_clear_error();
    return ok;
}

bool is_tls13_suite(const std::string& name) {
    return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
           name == "TLS_CHACHA20_POLY1305_SHA256" || name == "TLS_AES_128_CCM_SHA256" ||
           name == "TLS_AES_128_CCM_8_SHA256";
}

void append(std::string& list, const std::string& name) {
    if (!list.empty()) list += ':';
    list += name;
}

// The client CA bundle: every PEM certificate in the file goes into the verify store.
void load_client_cas(SSL_CTX* ctx, const std::filesystem::path& file) {
    unique_bio bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) fail("cannot read CLIENT_CERT_FILE \"" + file.string() + "\"");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        unique_x509 cert(raw);
        if (X509_STORE_add_cert(store, cert.get()) != 1) fail("cannot add a client CA from \"" + file.string() + "\"");
        ++count;
    }
    ERR_clear_error();  // the loop ends with a "no start line" error
    if (count == 0) {
        throw std::runtime_error("E_TLS_CONFIG: CLIENT_CERT_FILE \"" + file.string() +
                                 "\" holds no PEM certificate; no client could ever authenticate");
    }
}

// Session resumption (curl and Go resume by default). With SSL_VERIFY_PEER, OpenSSL aborts any
// resumption whose session carries no session id context ("session id context uninitialized"),
// so the context is set; resumed sessions keep the verified client certificate, so client_auth
// decides the same way on a resumed connection. Resumption uses tickets only (RFC 5077 for TLS 1.2,
// TLS 1.3 PSK tickets), sealed with keys this process makes at start-up: no server-side cache
// whose size clients could drive.
void enable_resumption(SSL_CTX* ctx) {
    static constexpr unsigned char sid_ctx[] = "cdi-uploadserver";
    if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1) fail("cannot set the session id context");
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
}

// An idle connection gives its 2 x 16 KiB record buffers back (issue 12.3: thousands of idle
// unauthenticated connections must stay cheap).
void release_idle_buffers(SSL_CTX* ctx) { SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS); }

}  // namespace

cipher_selection select_ciphers(const std::string& csv) {
    cipher_selection sel;
    if (csv.empty()) return sel;
    const auto iana = iana_to_openssl();
    std::size_t start = 0;
    while (start <= csv.size()) {
        std::size_t comma = csv.find(',', start);
        if (comma == std::string::npos) comma = csv.size();
        std::string name = csv.substr(start, comma - start);
        while (!name.empty() && name.front() == ' ') name.erase(0, 1);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        start = comma + 1;
        if (name.empty()) continue;
        if (is_tls13_suite(name)) {
            append(sel.tls13, name);
        } else if (auto it = iana.find(name); it != iana.end()) {
            append(sel.tls12, it->second);
        } else if (name.find_first_of(":!+@ ") == std::string::npos && openssl_knows(name)) {
            append(sel.tls12, name);
        } else {
            sel.dropped.push_back(name);
        }
    }
    return sel;
}

boost::asio::ssl::context make_tls_context(const upload_config& cfg) {
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    SSL_CTX* native = ctx.native_handle();
    if (SSL_CTX_use_certificate_chain_file(native, cfg.tls_cert_file.c_str()) != 1)
        fail("cannot load TLS_CERT_FILE \"" + cfg.tls_cert_file.string() + "\"");
    if (SSL_CTX_use_PrivateKey_file(native, cfg.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("cannot load TLS_KEY_FILE \"" + cfg.tls_key_file.string() + "\"");
    if (SSL_CTX_check_private_key(native) != 1) fail("TLS_KEY_FILE does not match TLS_CERT_FILE");
    if (!cfg.client_cert_file.empty()) load_client_cas(native, cfg.client_cert_file);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_min_proto_version(native, cfg.tls_min_version) != 1) fail("cannot set TLS_MIN_VERSION");
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    enable_resumption(native);
    release_idle_buffers(native);

    const auto sel = select_ciphers(cfg.tls_ciphers);
    for (const auto& d : sel.dropped) spdlog::warn("TLS_CIPHERS: dropping unknown cipher \"{}\"", d);
    if (!cfg.tls_ciphers.empty()) {
        if (sel.tls12.empty() && sel.tls13.empty())
            throw std::runtime_error("E_TLS_CONFIG: TLS_CIPHERS names no cipher this server knows");
        // An empty TLS 1.2 list means "TLS 1.3 suites only": OpenSSL needs a list that matches nothing.
        if (SSL_CTX_set_cipher_list(native, sel.tls12.empty() ? "eNULL:!eNULL" : sel.tls12.c_str()) != 1 &&
            !sel.tls12.empty())
            fail("cannot apply TLS_CIPHERS");
        ERR_clear_error();
        if (!sel.tls13.empty() && SSL_CTX_set_ciphersuites(native, sel.tls13.c_str()) != 1)
            fail("cannot apply TLS 1.3 TLS_CIPHERS");
    }
    return ctx;
}

}  // namespace cdi
