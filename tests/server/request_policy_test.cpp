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

// The answer's status, or 0 when the decision is to start an upload.
unsigned status_of(const decision& d) {
    const auto* r = std::get_if<policy_reply>(&d);
    return r ? r->status : 0u;
}

const policy_reply& reply_of(const decision& d) { return std::get<policy_reply>(d); }
const upload_plan& plan_of(const decision& d) { return std::get<upload_plan>(d); }
bool is_plan(const decision& d) { return std::holds_alternative<upload_plan>(d); }

// Requests each route refuses on its own: a form without a boundary, a clone on an async path.
std::vector<http::request_header<>> misfits() {
    auto form = post("/v1beta1/upload-form");
    form.set(http::field::content_type, "application/octet-stream");
    auto form_async = post("/v1beta1/upload-form-async");
    auto clone_async = post("/v1beta1/upload-async");
    clone_async.set("x-cdi-content-type", "filesystem-clone");
    auto clone_form_async = post("/v1beta1/upload-form-async");
    clone_form_async.set("x-cdi-content-type", "blockdevice-clone");
    clone_form_async.set(http::field::content_type, "multipart/form-data; boundary=b");
    return {form, form_async, clone_async, clone_form_async};
}

TEST(request_policy, busy_is_503_and_done_is_409_before_any_route_validation) {
    for (auto& req : misfits()) {
        EXPECT_EQ(status_of(decide(req, st::uploading, true)), 503u) << req.target();
        EXPECT_EQ(status_of(decide(req, st::processing, true)), 503u) << req.target();
        EXPECT_EQ(status_of(decide(req, st::done, true)), 409u) << req.target();
    }
    for (const char* target : {"/v1beta1/upload", "/v1beta1/upload-async", "/v1beta1/upload-archive"}) {
        EXPECT_EQ(status_of(decide(post(target), st::uploading, true)), 503u) << target;
        EXPECT_EQ(status_of(decide(post(target), st::done, true)), 409u) << target;
    }
}

TEST(request_policy, idle_route_validation_answers_400_for_a_form_without_boundary_and_500_for_an_async_clone) {
    auto m = misfits();
    for (std::size_t i : {0u, 1u}) {
        const decision d = decide(m[i], st::idle, true);
        ASSERT_EQ(status_of(d), 400u);
        EXPECT_EQ(reply_of(d).body.rfind("Saving stream failed: E_BAD_REQUEST: ", 0), 0u) << reply_of(d).body;
    }
    for (std::size_t i : {2u, 3u}) {
        const decision d = decide(m[i], st::idle, true);
        ASSERT_EQ(status_of(d), 500u);
        EXPECT_EQ(reply_of(d).body, "Saving stream failed: async clone not supported");
    }
}

TEST(request_policy, routing_method_and_authorization_come_before_the_state_as_in_cdi) {
    const decision unknown = decide(post("/nope"), st::uploading, true);
    ASSERT_EQ(status_of(unknown), 404u);
    EXPECT_EQ(reply_of(unknown).body, "404 page not found\n");
    const decision health = decide(request(http::verb::get, "/healthz"), st::uploading, false);
    ASSERT_EQ(status_of(health), 200u);
    EXPECT_EQ(reply_of(health).body, "OK");
    EXPECT_EQ(status_of(decide(request(http::verb::head, "/v1beta1/upload-async"), st::uploading, false)), 200u);
    EXPECT_EQ(status_of(decide(request(http::verb::head, "/v1beta1/upload-form-async"), st::done, false)), 200u);
    EXPECT_EQ(status_of(decide(request(http::verb::head, "/v1beta1/upload"), st::uploading, true)), 404u);
    EXPECT_EQ(status_of(decide(request(http::verb::put, "/v1beta1/upload"), st::uploading, true)), 404u);
    for (auto& req : misfits()) {
        EXPECT_EQ(status_of(decide(req, st::uploading, false)), 401u) << req.target();
        EXPECT_EQ(status_of(decide(req, st::idle, false)), 401u) << req.target();
    }
}

TEST(request_policy, an_idle_server_starts_the_upload_each_route_describes) {
    const decision sync = decide(post("/v1beta1/upload?x=1"), st::idle, true);
    ASSERT_TRUE(is_plan(sync));
    EXPECT_FALSE(plan_of(sync).async);
    EXPECT_EQ(plan_of(sync).content, content_type::kubevirt);
    EXPECT_TRUE(plan_of(sync).boundary.empty());
    EXPECT_FALSE(plan_of(sync).clone);
    EXPECT_FALSE(plan_of(sync).expect_continue);

    const decision archive = decide(post("/v1alpha1/upload-archive"), st::idle, true);
    ASSERT_TRUE(is_plan(archive));
    EXPECT_EQ(plan_of(archive).content, content_type::archive);

    auto form = post("/v1beta1/upload-form-async");
    form.set(http::field::content_type, "multipart/form-data; boundary=xyz");
    const decision f = decide(form, st::idle, true);
    ASSERT_TRUE(is_plan(f));
    EXPECT_TRUE(plan_of(f).async);
    EXPECT_EQ(plan_of(f).boundary, "xyz");

    auto clone = post("/v1beta1/upload");
    clone.set("x-cdi-content-type", "blockdevice-clone");
    const decision c = decide(clone, st::idle, true);
    ASSERT_TRUE(is_plan(c));
    EXPECT_EQ(plan_of(c).clone, clone_kind::blockdevice);
}

TEST(request_policy, an_upload_sent_with_expect_100_continue_is_answered_100_before_its_body_is_read) {
    auto req = post("/v1beta1/upload");
    req.set(http::field::expect, "100-Continue");
    const decision d = decide(req, st::idle, true);
    ASSERT_TRUE(is_plan(d));
    EXPECT_TRUE(plan_of(d).expect_continue);
    // Refused requests get their answer instead: no 100 promises a body that will not be read.
    EXPECT_EQ(status_of(decide(req, st::uploading, true)), 503u);
}

TEST(request_policy, routes_match_exact_paths_like_go_servemux) {
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
