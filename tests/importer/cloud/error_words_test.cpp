// importer/cloud/error_words: a refusal's body as one short, printable line.
#include "importer/cloud/error_words.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(s3_error_words, code_and_message_of_s3s_xml_error) {
    EXPECT_EQ(s3_error_words(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><RequestId>1</RequestId></Error>)"),
              "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    EXPECT_EQ(s3_error_words("<Error><Code>NoSuchKey</Code></Error>"), "NoSuchKey");
    EXPECT_EQ(s3_error_words("<html>Forbidden</html>"), "");
    EXPECT_EQ(s3_error_words(""), "");
}

TEST(s3_error_words, control_bytes_become_blanks_and_the_line_is_bounded) {
    EXPECT_EQ(s3_error_words("<Code>A\r\nB\x1b</Code>"), "A  B ");
    EXPECT_EQ(s3_error_words("<Code>" + std::string(1000, 'x') + "</Code>").size(), 200u);
}

TEST(oauth_error_words, error_and_description_of_an_oauth_refusal) {
    EXPECT_EQ(oauth_error_words(R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})"), "invalid_grant: Invalid JWT Signature.");
    EXPECT_EQ(oauth_error_words(R"({"error":"unsupported_grant_type"})"), "unsupported_grant_type");
    EXPECT_EQ(oauth_error_words("not json"), "");
    EXPECT_EQ(oauth_error_words(R"({"error":42})"), "");
}

}  // namespace
}  // namespace cdi
