#include "server/tls_context.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(tls_context, iana_cipher_names_map_to_openssl_names) {
    auto s = select_ciphers("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    EXPECT_EQ(s.tls12, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
    EXPECT_TRUE(s.tls13.empty());
    EXPECT_TRUE(s.dropped.empty());
}

TEST(tls_context, tls13_suites_and_openssl_names_go_to_their_lists_and_unknown_names_are_dropped) {
    auto s = select_ciphers("TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM-SHA256,NOT_A_CIPHER,ALL:!aNULL,TLS_CHACHA20_POLY1305_SHA256");
    EXPECT_EQ(s.tls13, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256");
    EXPECT_EQ(s.tls12, "ECDHE-RSA-AES128-GCM-SHA256");
    ASSERT_EQ(s.dropped.size(), 2u);
    EXPECT_EQ(s.dropped[0], "NOT_A_CIPHER");
    EXPECT_EQ(s.dropped[1], "ALL:!aNULL");  // one cipher per name: no OpenSSL cipher-string syntax
}

TEST(tls_context, an_empty_list_selects_nothing) {
    auto s = select_ciphers("");
    EXPECT_TRUE(s.tls12.empty());
    EXPECT_TRUE(s.tls13.empty());
    EXPECT_TRUE(s.dropped.empty());
}

}  // namespace
}  // namespace cdi
