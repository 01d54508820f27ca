// importer/cloud/s3_endpoint: the endpoint as CDI's s3 source splits it (bucket, key, region, scheme).
#include "importer/cloud/s3_endpoint.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(s3_region, an_aws_host_names_its_region_any_other_host_its_first_label) {
    EXPECT_EQ(s3_region("s3.eu-west-3.amazonaws.com"), "eu-west-3");
    EXPECT_EQ(s3_region("bucket.s3.us-east-2.amazonaws.com"), "us-east-2");
    EXPECT_EQ(s3_region("minio.storage.svc:9000"), "minio");
    EXPECT_EQ(s3_region("127.0.0.1:9000"), "127");
    // CDI reads Go's URL.Host: without a dot the port stays in the "first label".
    EXPECT_EQ(s3_region("localhost:9000"), "localhost:9000");
}

TEST(parse_s3_endpoint, the_first_segment_is_the_bucket_and_the_rest_the_key) {
    auto l = parse_s3_endpoint("https://s3.us-west-1.amazonaws.com/my-bucket/images/fedora.qcow2");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->bucket, "my-bucket");
    EXPECT_EQ(l->key, "images/fedora.qcow2");
    EXPECT_EQ(l->region, "us-west-1");
    EXPECT_EQ(l->url, "https://s3.us-west-1.amazonaws.com/my-bucket/images/fedora.qcow2");
}

TEST(parse_s3_endpoint, the_key_is_decoded_then_encoded_as_aws_encodes_a_path_and_slashes_trimmed) {
    auto l = parse_s3_endpoint("http://minio.local:9000//bkt/dir/a%20b+c%2Fd.img/");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->bucket, "bkt");
    EXPECT_EQ(l->key, "dir/a b+c/d.img");
    EXPECT_EQ(l->region, "minio");
    EXPECT_EQ(l->url, "http://minio.local:9000/bkt/dir/a%20b%2Bc/d.img");
}

TEST(parse_s3_endpoint, no_bucket_no_key_or_a_bad_url_is_a_bad_request_that_never_echoes_the_url) {
    for (const char* e : {"https://s3.amazonaws.com/", "https://s3.amazonaws.com/bucket", "https://s3.amazonaws.com/bucket/"}) {
        auto l = parse_s3_endpoint(e);
        ASSERT_FALSE(l) << e;
        EXPECT_TRUE(l.error().is(errc::bad_request));
        EXPECT_NE(l.error().context.find("could not get s3 object"), std::string::npos) << l.error().context;
    }
    auto l = parse_s3_endpoint("ftp://user:hunter2@host/bucket/key");
    ASSERT_FALSE(l);
    EXPECT_TRUE(l.error().is(errc::bad_request));
    EXPECT_EQ(l.error().context.find("hunter2"), std::string::npos) << l.error().context;
}

}  // namespace
}  // namespace cdi
