#include "server/request_policy.hpp"

#include "server/multipart_source.hpp"

namespace cdi {

namespace http = boost::beast::http;

verdict decide(route rt, upload_state::state state, const http::request_header<>& req, bool authorized) {
    if (rt == route::not_found) return {404, "404 page not found\n", std::nullopt};
    if (rt == route::healthz) return {200, "OK", std::nullopt};
    const bool async = rt == route::upload_async || rt == route::upload_form_async;
    if (async && req.method() == http::verb::head) return {200, {}, std::nullopt};
    if (req.method() != http::verb::post) return {404, {}, std::nullopt};
    if (!authorized) return {401, {}, std::nullopt};
    if (state == upload_state::state::uploading || state == upload_state::state::processing)
        return {503, {}, std::nullopt};
    if (state == upload_state::state::done) return {409, {}, std::nullopt};

    upload_plan plan;
    plan.async = async;
    // The upload proxy sends archive volumes to upload-archive: the tar is unpacked into the volume.
    plan.content = rt == route::upload_archive ? content_type::archive : content_type::kubevirt;
    // A host-assisted clone target (contract 6.6): the clone source's Snappy-framed stream; sync only.
    if (auto it = req.find("x-cdi-content-type"); it != req.end()) {
        const auto v = it->value();
        plan.clone = clone_kind_from_header(std::string_view(v.data(), v.size()));
        if (plan.clone && async) return {500, "Saving stream failed: async clone not supported", std::nullopt};
    }
    if (rt == route::upload_form || rt == route::upload_form_async) {
        const auto ct = req[http::field::content_type];
        plan.boundary = multipart_boundary(std::string_view(ct.data(), ct.size()));
        if (plan.boundary.empty())
            return {400, "Saving stream failed: E_BAD_REQUEST: the body is not multipart/form-data with a boundary",
                    std::nullopt};
    }
    return {0, {}, std::move(plan)};
}

}  // namespace cdi
