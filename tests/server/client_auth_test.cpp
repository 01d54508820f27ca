// client_auth on real handshakes: the upload server's own TLS context (make_tls_context) and a
// client, joined in memory by a BIO pair (no socket), with a throwaway PKI.
#include "server/client_auth.hpp"

#include "server/tls_context.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <fstream>
#include <memory>

namespace cdi {
namespace {

struct ssl_ctx_free {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

constexpr const char* client_cn = test::pki::client_cn;

class client_auth_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<test::temp_dir>();
        pki_ = std::make_unique<test::pki>(dir_->path() / "pki");
        // An intermediate CA under the trusted CA, named like the client, and two leaves under it.
        pki_->make_intermediate("inter", "ca", client_cn);
        pki_->make_cert("inter-workload", "inter", "workload", "");
        pki_->make_cert("inter-client", "inter", client_cn, "");
        // A subject with two CNs, both the client's.
        pki_->make_cert("two-cns", "ca", std::string(client_cn) + "/CN=" + client_cn, "");
        for (const char* leaf : {"inter-workload", "inter-client"}) {
            std::ofstream chain(pki_->dir() / (std::string(leaf) + ".chain"));
            chain << std::ifstream(pki_->crt(leaf)).rdbuf() << std::ifstream(pki_->crt("inter")).rdbuf();
        }
        upload_config cfg;
        cfg.tls_cert_file = pki_->crt("server");
        cfg.tls_key_file = pki_->key("server");
        cfg.client_cert_file = pki_->crt("ca");
        cfg.client_name = client_cn;
        server_ctx_ = std::make_unique<boost::asio::ssl::context>(make_tls_context(cfg));
    }
    static void TearDownTestSuite() {
        server_ctx_.reset();
        pki_.reset();
        dir_.reset();
    }

    // The server's end of a completed handshake with a client presenting `cert_file` (a chain file)
    // and key `key` (both empty: no certificate). accept_any: the server completes the handshake
    // whatever the chain's verification said (the verify result stays recorded).
    static ssl_ptr handshake(const std::filesystem::path& cert_file, const std::filesystem::path& key,
                             bool accept_any = false) {
        std::unique_ptr<SSL_CTX, ssl_ctx_free> cctx(SSL_CTX_new(TLS_client_method()));
        if (!cert_file.empty()) {
            EXPECT_EQ(SSL_CTX_use_certificate_chain_file(cctx.get(), cert_file.c_str()), 1);
            EXPECT_EQ(SSL_CTX_use_PrivateKey_file(cctx.get(), key.c_str(), SSL_FILETYPE_PEM), 1);
        }
        ssl_ptr server(SSL_new(server_ctx_->native_handle()));
        ssl_ptr client(SSL_new(cctx.get()));
        if (accept_any) SSL_set_verify(server.get(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
        BIO* server_bio = nullptr;
        BIO* client_bio = nullptr;
        EXPECT_EQ(BIO_new_bio_pair(&server_bio, 0, &client_bio, 0), 1);
        SSL_set_bio(server.get(), server_bio, server_bio);
        SSL_set_bio(client.get(), client_bio, client_bio);
        SSL_set_accept_state(server.get());
        SSL_set_connect_state(client.get());
        bool server_done = false;
        bool client_done = false;
        for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
            for (auto [ssl, done] : {std::pair{client.get(), &client_done}, std::pair{server.get(), &server_done}}) {
                if (*done) continue;
                const int rc = SSL_do_handshake(ssl);
                const int err = SSL_get_error(ssl, rc);
                if (rc == 1) *done = true;
                else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return nullptr;
            }
        }
        ERR_clear_error();
        if (!server_done) return nullptr;
        return server;
    }

    static ssl_ptr handshake_as(const std::string& name, bool accept_any = false) {
        return handshake(pki_->crt(name), pki_->key(name), accept_any);
    }

    static inline std::unique_ptr<test::temp_dir> dir_;
    static inline std::unique_ptr<test::pki> pki_;
    static inline std::unique_ptr<boost::asio::ssl::context> server_ctx_;
};

TEST_F(client_auth_test, a_verified_leaf_whose_cn_is_the_client_name_is_authorized) {
    ssl_ptr ssl = handshake_as("client");
    ASSERT_TRUE(ssl);
    EXPECT_EQ(peer_common_name(ssl.get()), client_cn);
    EXPECT_TRUE(client_authorized(ssl.get(), client_cn));
}

TEST_F(client_auth_test, the_cn_must_equal_the_client_name_exactly) {
    ssl_ptr ssl = handshake_as("client");
    ASSERT_TRUE(ssl);
    const std::string cn = client_cn;
    for (const std::string& name : {cn.substr(0, cn.size() - 1), cn + ".", cn + " ", " " + cn,
                                    std::string("CLIENT") + cn.substr(6), std::string("client")})
        EXPECT_FALSE(client_authorized(ssl.get(), name)) << '"' << name << '"';
    ssl_ptr other = handshake_as("other");
    ASSERT_TRUE(other);
    EXPECT_EQ(peer_common_name(other.get()), "other");
    EXPECT_FALSE(client_authorized(other.get(), client_cn));
}

TEST_F(client_auth_test, an_intermediate_ca_named_like_the_client_does_not_authorize_its_leaves) {
    ssl_ptr ssl = handshake(pki_->dir() / "inter-workload.chain", pki_->key("inter-workload"));
    ASSERT_TRUE(ssl) << "the chain through the intermediate verifies";
    EXPECT_EQ(SSL_get_verify_result(ssl.get()), X509_V_OK);
    EXPECT_EQ(peer_common_name(ssl.get()), "workload");
    EXPECT_FALSE(client_authorized(ssl.get(), client_cn));
    // Under the same intermediate, a leaf carrying the client's CN is the one authorized.
    ssl_ptr leaf = handshake(pki_->dir() / "inter-client.chain", pki_->key("inter-client"));
    ASSERT_TRUE(leaf);
    EXPECT_TRUE(client_authorized(leaf.get(), client_cn));
}

TEST_F(client_auth_test, a_client_without_a_certificate_is_refused) {
    ssl_ptr ssl = handshake({}, {});
    ASSERT_TRUE(ssl) << "the server asks for a certificate but does not require one (/healthz)";
    EXPECT_EQ(peer_common_name(ssl.get()), "");
    EXPECT_FALSE(client_authorized(ssl.get(), client_cn));
}

TEST_F(client_auth_test, a_certificate_that_failed_verification_is_refused_whatever_its_cn) {
    // Signed by a CA the server does not trust; the handshake is let through to reach the check.
    ssl_ptr ssl = handshake_as("rogue", /*accept_any=*/true);
    ASSERT_TRUE(ssl);
    EXPECT_NE(SSL_get_verify_result(ssl.get()), X509_V_OK);
    EXPECT_EQ(peer_common_name(ssl.get()), client_cn);
    EXPECT_FALSE(client_authorized(ssl.get(), client_cn));
    // The server's own context does not let it through at all.
    EXPECT_FALSE(handshake_as("rogue"));
}

TEST_F(client_auth_test, a_subject_with_two_cns_matches_nothing) {
    ssl_ptr ssl = handshake_as("two-cns");
    ASSERT_TRUE(ssl);
    EXPECT_EQ(peer_common_name(ssl.get()), "");
    EXPECT_FALSE(client_authorized(ssl.get(), client_cn));
}

TEST_F(client_auth_test, an_empty_client_name_or_no_connection_authorizes_nobody) {
    ssl_ptr ssl = handshake_as("client");
    ASSERT_TRUE(ssl);
    EXPECT_FALSE(client_authorized(ssl.get(), ""));
    EXPECT_FALSE(client_authorized(nullptr, client_cn));
}

}  // namespace
}  // namespace cdi
