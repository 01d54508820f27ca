// importer/cloud/gcs_endpoint: the endpoint as CDI's gcs source splits it, and the URL the Go
// storage client's XML reader fetches for it.
#include "importer/cloud/gcs_endpoint.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(parse_gcs_endpoint, gs_urls_read_from_googles_endpoint) {
    auto l = parse_gcs_endpoint("gs://my-bucket/images/fedora.qcow2");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->bucket, "my-bucket");
    EXPECT_EQ(l->object, "images/fedora.qcow2");
    // url.PathEscape: the object is one path segment, its '/' escaped.
    EXPECT_EQ(l->url, "https://storage.googleapis.com/my-bucket/images%2Ffedora.qcow2");
}

TEST(parse_gcs_endpoint, an_http_url_names_its_own_endpoint) {
    auto l = parse_gcs_endpoint("http://127.0.0.1:4443/bkt/dir/disk.img");
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->bucket, "bkt");
    EXPECT_EQ(l->object, "dir/disk.img");
    EXPECT_EQ(l->url, "http://127.0.0.1:4443/bkt/dir%2Fdisk.img");
}

TEST(parse_gcs_endpoint, other_schemes_and_missing_parts_are_bad_requests_that_never_echo_the_text) {
    for (const char* e : {"s3://bkt/obj", "gs://bkt", "gs://bkt/", "gs:/bkt/obj", "https://host/bkt", "https://host//obj", "ftp://u:hunter2@h/b/o"}) {
        auto l = parse_gcs_endpoint(e);
        ASSERT_FALSE(l) << e;
        EXPECT_TRUE(l.error().is(errc::bad_request)) << e;
        EXPECT_EQ(l.error().context.find("hunter2"), std::string::npos) << l.error().context;
    }
}

}  // namespace
}  // namespace cdi
