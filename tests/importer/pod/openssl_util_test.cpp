#include "importer/pod/openssl_util.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace cdi {
namespace {

using ::testing::HasSubstr;

// OpenSSL's one-line text for one queued code, as ERR_error_string_n writes it.
std::string text_of(unsigned long code) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}

TEST(openssl_error_text, names_the_oldest_error_first_then_the_steps_that_failed_on_it) {
    ERR_clear_error();
    ERR_raise(ERR_LIB_SYS, ENOENT);             // the cause
    ERR_raise(ERR_LIB_BIO, BIO_R_NO_SUCH_FILE);  // the step that failed on it
    const std::string cause = text_of(ERR_peek_error());
    const std::string step = text_of(ERR_peek_last_error());
    ASSERT_NE(cause, step);

    EXPECT_EQ(openssl_error_text(), cause + "; " + step);
}

TEST(openssl_error_text, leaves_the_queue_empty_so_a_failure_is_never_reported_twice) {
    ERR_clear_error();
    ERR_raise(ERR_LIB_SYS, ENOENT);
    ERR_raise(ERR_LIB_BIO, BIO_R_NO_SUCH_FILE);
    (void)openssl_error_text();
    EXPECT_EQ(ERR_peek_error(), 0UL);
    EXPECT_EQ(openssl_error_text(), "unknown OpenSSL error");  // the failure is never reported twice
}

TEST(openssl_error_text, names_the_system_error_of_a_failed_file_open) {
    ERR_clear_error();
    BIO* bio = BIO_new_file("/nonexistent/cdi-openssl-util-test.pem", "r");
    ASSERT_EQ(bio, nullptr);
    const std::string text = openssl_error_text();
    EXPECT_THAT(text, HasSubstr("No such file or directory")) << text;
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST(openssl_error_text, says_unknown_when_nothing_is_queued) {
    ERR_clear_error();
    EXPECT_EQ(openssl_error_text(), "unknown OpenSSL error");
}

}  // namespace
}  // namespace cdi
