#include "server/request_policy.hpp"

#include "server/multipart_source.hpp"

#include <boost/beast/core/string.hpp>

namespace cdi {

namespace http = boost::beast::http;

route route_of(std::string_view target) {
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") return route::healthz;
    for (std::string_view v : {"/v1beta1/", "/v1alpha1/"}) {
        if (path.substr(0, v.size()) != v) continue;
        const std::string_view rest = path.substr(v.size());
        if (rest == "upload") return route::upload;
        if (rest == "upload-async") return route::upload_async;
        if (rest == "upload-archive") return route::upload_archive;
        if (rest == "upload-form") return route::upload_form;
        if (rest == "upload-form-async") return route::upload_form_async;
    }
    return route::not_found;
}

decision decide(const http::request_header<>& req, upload_state::state state, bool authorized) {
    const auto target = req.target();
    const route rt = route_of(std::string_view(target.data(), target.size()));
    if (rt == route::not_found) return policy_reply{404, "404 page not found\n"};
    if (rt == route::healthz) return policy_reply{200, "OK"};
    const bool async = rt == route::upload_async || rt == route::upload_form_async;
    if (async && req.method() == http::verb::head) return policy_reply{200, {}};
    if (req.method() != http::verb::post) return policy_reply{404, {}};
    if (!authorized) return policy_reply{401, {}};
    if (state == upload_state::state::uploading || state == upload_state::state::processing)
        return policy_reply{503, {}};
    if (state == upload_state::state::done) return policy_reply{409, {}};

    upload_plan plan;
    plan.async = async;
    // The upload proxy sends archive volumes to upload-archive: the tar is unpacked into the volume.
    plan.content = rt == route::upload_archive ? content_type::archive : content_type::kubevirt;
    // A host-assisted clone target (contract 6.6): the clone source's Snappy-framed stream; sync only.
    if (auto it = req.find("x-cdi-content-type"); it != req.end()) {
        const auto v = it->value();
        plan.clone = clone_kind_from_header(std::string_view(v.data(), v.size()));
        if (plan.clone && async) return policy_reply{500, "Saving stream failed: async clone not supported"};
    }
    if (rt == route::upload_form || rt == route::upload_form_async) {
        const auto ct = req[http::field::content_type];
        plan.boundary = multipart_boundary(std::string_view(ct.data(), ct.size()));
        if (plan.boundary.empty())
            return policy_reply{400,
                                "Saving stream failed: E_BAD_REQUEST: the body is not multipart/form-data with a boundary"};
    }
    plan.expect_continue = boost::beast::iequals(req[http::field::expect], "100-continue");
    return plan;
}

}  // namespace cdi
