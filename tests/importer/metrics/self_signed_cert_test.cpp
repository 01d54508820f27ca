// importer/metrics/self_signed_cert: the metrics endpoint's in-memory identity (contract section 7):
// a certificate OpenSSL verifies against itself, for the key the object installs, valid from now for
// the validity asked, with the common name asked.
#include "importer/metrics/self_signed_cert.hpp"

#include "importer/pod/openssl_util.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>

namespace cdi {
namespace {

using namespace std::chrono_literals;

unique_x509 parse_pem(const std::string& pem) {
    unique_bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return unique_x509(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

unique_x509 generate_cert(std::string_view cn, std::chrono::seconds validity) {
    auto c = self_signed_cert::generate(cn, validity);
    if (!c) ADD_FAILURE() << c.error().message();
    if (!c) return nullptr;
    auto pem = c->certificate_pem();
    if (!pem) ADD_FAILURE() << pem.error().message();
    return pem ? parse_pem(*pem) : nullptr;
}

TEST(self_signed_cert, openssl_verifies_the_certificate_against_itself) {
    auto cert = generate_cert("cloner_target", 24h);
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1) << "the signature is not the key's";
    EXPECT_EQ(X509_check_issued(cert.get(), cert.get()), X509_V_OK);

    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
    ASSERT_TRUE(store && ctx);
    ASSERT_EQ(X509_STORE_add_cert(store.get(), cert.get()), 1);
    ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
    EXPECT_EQ(X509_verify_cert(ctx.get()), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(self_signed_cert, names_the_common_name_as_subject_and_issuer) {
    auto cert = generate_cert("cloner_target", 24h);
    ASSERT_TRUE(cert);
    std::array<char, 64> cn{};
    ASSERT_GT(X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn.data(), cn.size()), 0);
    EXPECT_STREQ(cn.data(), "cloner_target");
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
}

TEST(self_signed_cert, is_valid_from_now_for_the_validity_asked) {
    auto cert = generate_cert("cloner_target", 3600s);
    ASSERT_TRUE(cert);
    EXPECT_LE(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0) << "not valid yet";
    EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0) << "already expired";
    int days = -1, secs = -1;
    ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())), 1);
    EXPECT_EQ(days * 86400 + secs, 3600);
}

TEST(self_signed_cert, installs_the_key_that_matches_the_certificate) {
    auto c = self_signed_cert::generate("cloner_target", 24h);
    ASSERT_TRUE(c) << c.error().message();
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    auto r = c->install(ctx);
    ASSERT_TRUE(r) << r.error().message();
    X509* installed = SSL_CTX_get0_certificate(ctx.native_handle());
    EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx.native_handle());
    ASSERT_TRUE(installed && key);
    EXPECT_EQ(X509_check_private_key(installed, key), 1);
    EXPECT_EQ(EVP_PKEY_is_a(key, "EC"), 1) << "not the P-256 key";
    auto pem = c->certificate_pem();
    ASSERT_TRUE(pem);
    auto parsed = parse_pem(*pem);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(X509_cmp(parsed.get(), installed), 0) << "the PEM is not the installed certificate";
}

TEST(self_signed_cert, two_certificates_have_different_keys_and_serials) {
    auto a = generate_cert("cloner_target", 24h);
    auto b = generate_cert("cloner_target", 24h);
    ASSERT_TRUE(a && b);
    EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
    EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(a.get()), X509_get0_pubkey(b.get())), 1);
}

}  // namespace
}  // namespace cdi
