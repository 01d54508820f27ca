#include "server/request_policy.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

namespace http = boost::beast::http;
using st = upload_state::state;

http::request_header<> request(http::verb method, const std::string& target) {
    http::request_header<> h;
    h.method(method);
    h.target(target);
    h.version(11);
    return h;
}

http::request_header<> post(const std::string& target) { return request(http::verb::post, target); }

// Requests each route refuses on its own: a form without a boundary, a clone on an async path.
std::vector<std::pair<route, http::request_header<>>> misfits() {
    auto form = post("/v1beta1/upload-form");
    form.set(http::field::content_type, "application/octet-stream");
    auto form_async = post("/v1beta1/upload-form-async");
    auto clone_async = post("/v1beta1/upload-async");
    clone_async.set("x-cdi-content-type", "filesystem-clone");
    auto clone_form_async = post("/v1beta1/upload-form-async");
    clone_form_async.set("x-cdi-content-type", "blockdevice-clone");
    clone_form_async.set(http::field::content_type, "multipart/form-data; boundary=b");
    return {{route::upload_form, form},
            {route::upload_form_async, form_async},
            {route::upload_async, clone_async},
            {route::upload_form_async, clone_form_async}};
}

TEST(request_policy, busy_is_503_and_done_is_409_before_any_route_validation) {
    for (auto& [rt, req] : misfits()) {
        EXPECT_EQ(decide(rt, st::uploading, req, true).status, 503u) << req.target();
        EXPECT_EQ(decide(rt, st::processing, req, true).status, 503u) << req.target();
        EXPECT_EQ(decide(rt, st::done, req, true).status, 409u) << req.target();
        EXPECT_FALSE(decide(rt, st::uploading, req, true).plan);
    }
    for (route rt : {route::upload, route::upload_async, route::upload_archive}) {
        EXPECT_EQ(decide(rt, st::uploading, post("/v1beta1/x"), true).status, 503u);
        EXPECT_EQ(decide(rt, st::done, post("/v1beta1/x"), true).status, 409u);
    }
}

TEST(request_policy, idle_route_validation_answers_400_for_a_form_without_boundary_and_500_for_an_async_clone) {
    auto m = misfits();
    for (std::size_t i : {0u, 1u}) {
        const verdict v = decide(m[i].first, st::idle, m[i].second, true);
        EXPECT_EQ(v.status, 400u);
        EXPECT_EQ(v.body.rfind("Saving stream failed: E_BAD_REQUEST: ", 0), 0u) << v.body;
        EXPECT_FALSE(v.plan);
    }
    for (std::size_t i : {2u, 3u}) {
        const verdict v = decide(m[i].first, st::idle, m[i].second, true);
        EXPECT_EQ(v.status, 500u);
        EXPECT_EQ(v.body, "Saving stream failed: async clone not supported");
    }
}

TEST(request_policy, routing_method_and_authorization_come_before_the_state_as_in_cdi) {
    EXPECT_EQ(decide(route::not_found, st::uploading, post("/nope"), true).status, 404u);
    const verdict health = decide(route::healthz, st::uploading, request(http::verb::get, "/healthz"), false);
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, "OK");
    EXPECT_EQ(decide(route::upload_async, st::uploading, request(http::verb::head, "/v1beta1/upload-async"), false).status, 200u);
    EXPECT_EQ(decide(route::upload_form_async, st::done, request(http::verb::head, "/v1beta1/upload-form-async"), false).status, 200u);
    EXPECT_EQ(decide(route::upload, st::uploading, request(http::verb::head, "/v1beta1/upload"), true).status, 404u);
    EXPECT_EQ(decide(route::upload, st::uploading, request(http::verb::put, "/v1beta1/upload"), true).status, 404u);
    for (auto& [rt, req] : misfits()) {
        EXPECT_EQ(decide(rt, st::uploading, req, false).status, 401u) << req.target();
        EXPECT_EQ(decide(rt, st::idle, req, false).status, 401u) << req.target();
    }
}

TEST(request_policy, an_idle_server_starts_the_upload_each_route_describes) {
    auto sync = decide(route::upload, st::idle, post("/v1beta1/upload"), true);
    ASSERT_TRUE(sync.plan);
    EXPECT_FALSE(sync.plan->async);
    EXPECT_EQ(sync.plan->content, content_type::kubevirt);
    EXPECT_TRUE(sync.plan->boundary.empty());
    EXPECT_FALSE(sync.plan->clone);

    auto archive = decide(route::upload_archive, st::idle, post("/v1beta1/upload-archive"), true);
    ASSERT_TRUE(archive.plan);
    EXPECT_EQ(archive.plan->content, content_type::archive);

    auto form = post("/v1beta1/upload-form-async");
    form.set(http::field::content_type, "multipart/form-data; boundary=xyz");
    auto f = decide(route::upload_form_async, st::idle, form, true);
    ASSERT_TRUE(f.plan);
    EXPECT_TRUE(f.plan->async);
    EXPECT_EQ(f.plan->boundary, "xyz");

    auto clone = post("/v1beta1/upload");
    clone.set("x-cdi-content-type", "blockdevice-clone");
    auto c = decide(route::upload, st::idle, clone, true);
    ASSERT_TRUE(c.plan);
    EXPECT_EQ(c.plan->clone, clone_kind::blockdevice);
}

}  // namespace
}  // namespace cdi
