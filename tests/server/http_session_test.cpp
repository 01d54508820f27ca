#include "server/http_session.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(http_session, routes_match_exact_paths_like_go_servemux) {
    EXPECT_EQ(route_of("/healthz"), route::healthz);
    EXPECT_EQ(route_of("/v1beta1/upload"), route::upload);
    EXPECT_EQ(route_of("/v1alpha1/upload"), route::upload);
    EXPECT_EQ(route_of("/v1beta1/upload?x=1"), route::upload);
    EXPECT_EQ(route_of("/v1beta1/upload-async"), route::upload_async);
    EXPECT_EQ(route_of("/v1alpha1/upload-archive"), route::upload_archive);
    EXPECT_EQ(route_of("/v1beta1/upload-form"), route::upload_form);
    EXPECT_EQ(route_of("/v1alpha1/upload-form-async"), route::upload_form_async);
    for (const char* p : {"/", "/v1beta1/upload/", "/v1beta1/uploadx", "/v1/upload", "/healthz/", "//v1beta1/upload",
                          "/V1BETA1/upload", "/v1beta1/../v1beta1/upload", ""})
        EXPECT_EQ(route_of(p), route::not_found) << p;
}

}  // namespace
}  // namespace cdi
