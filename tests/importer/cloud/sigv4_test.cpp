// importer/cloud/sigv4: AWS Signature V4 against AWS's published values (the sig-v4 test suite's
// get-vanilla and get-header-value-trim, and the S3 GetObject example of the S3 API reference),
// each also reproduced with botocore's signer (python3-botocore 1.29).
#include "importer/cloud/sigv4.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

const sigv4_credentials suite_key{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};

sigv4_request vanilla() {
    return {"GET", "/", "", {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, std::string(empty_payload_sha256)};
}

TEST(sigv4, the_empty_payload_hash_is_sha256_of_nothing) { EXPECT_EQ(sha256_hex(""), empty_payload_sha256); }

TEST(sigv4, get_vanilla_gives_the_suites_canonical_request_string_and_signature) {
    const auto r = vanilla();
    EXPECT_EQ(canonical_request(r), "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                                        std::string(empty_payload_sha256));
    EXPECT_EQ(string_to_sign(canonical_request(r), "20150830T123600Z", "us-east-1", "service"),
              "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
              "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
    EXPECT_EQ(sigv4_authorization(r, suite_key, "20150830T123600Z", "us-east-1", "service"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
              "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(sigv4, header_values_are_trimmed_and_inner_blanks_folded_names_sorted_in_lower_case) {
    auto r = vanilla();
    r.headers.emplace_back("My-Header2", "\"a   b   c\"");
    r.headers.emplace_back("My-Header1", "  value1  ");
    EXPECT_EQ(signed_headers(r), "host;my-header1;my-header2;x-amz-date");
    EXPECT_NE(canonical_request(r).find("my-header1:value1\nmy-header2:\"a b c\"\n"), std::string::npos) << canonical_request(r);
    EXPECT_EQ(sigv4_authorization(r, suite_key, "20150830T123600Z", "us-east-1", "service"),
              "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
              "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(sigv4, the_s3_get_object_example_with_a_range_signs_as_aws_documents) {
    const sigv4_request r{"GET",
                          "/test.txt",
                          "",
                          {{"Host", "examplebucket.s3.amazonaws.com"},
                           {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", std::string(empty_payload_sha256)},
                           {"x-amz-date", "20130524T000000Z"}},
                          std::string(empty_payload_sha256)};
    EXPECT_EQ(string_to_sign(canonical_request(r), "20130524T000000Z", "us-east-1", "s3"),
              "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
              "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    EXPECT_EQ(sigv4_authorization(r, {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, "20130524T000000Z",
                                  "us-east-1", "s3"),
              "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
              "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
              "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(sigv4, a_different_secret_or_range_gives_a_different_signature) {
    const auto a = sigv4_authorization(vanilla(), suite_key, "20150830T123600Z", "us-east-1", "service");
    EXPECT_NE(a, sigv4_authorization(vanilla(), {"AKIDEXAMPLE", "other"}, "20150830T123600Z", "us-east-1", "service"));
    auto ranged = vanilla();
    ranged.headers.emplace_back("Range", "bytes=100-");
    EXPECT_NE(a, sigv4_authorization(ranged, suite_key, "20150830T123600Z", "us-east-1", "service"));
}

TEST(sigv4, amz_date_is_utc_basic_format) {
    EXPECT_EQ(amz_date(std::chrono::system_clock::time_point(std::chrono::seconds(1440938160))), "20150830T123600Z");
}

}  // namespace
}  // namespace cdi
