#pragma once
// The upload session's policy: what a request to the upload server gets, decided from its header
// (method, target, fields), the upload state and the client-certificate check alone, in CDI's order
// (pkg/uploadserver/uploadserver.go: the mux, then validateShouldHandleRequest, then the handler's
// own checks):
//   unknown path → 404; /healthz → 200 "OK"; HEAD on an async path → 200; not POST → 404;
//   no authorized client certificate → 401; uploading or processing → 503; done → 409;
//   then the route's checks: a clone header on an async path → 500 "async clone not supported",
//   a form path without a multipart boundary → 400 E_BAD_REQUEST; otherwise the upload starts.
// So a client retrying while an upload runs always reads 503, whatever its request looks like.
// Pure: http_session does the I/O (the certificate check, upload_state::begin, the answer, the log).
#include "cdi/job.hpp"
#include "server/clone/clone_job.hpp"
#include "server/upload_state.hpp"

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace cdi {

// Routing is by exact path (Go's ServeMux), the query string ignored.
enum class route {
    not_found,
    healthz,
    upload,             // /v1beta1/upload, /v1alpha1/upload: sync
    upload_async,       // .../upload-async
    upload_archive,     // .../upload-archive
    upload_form,        // .../upload-form
    upload_form_async,  // .../upload-form-async
};

// The route of a request target (path plus optional query).
route route_of(std::string_view target);

// A request answered without reading its body.
struct policy_reply {
    unsigned status = 200;
    std::string body;
};

// An upload to start: how the body is read and what the job does with it.
struct upload_plan {
    bool async = false;                              // upload-async, upload-form-async
    content_type content = content_type::kubevirt;  // archive for upload-archive
    std::string boundary;                            // form paths: the multipart boundary
    std::optional<clone_kind> clone;                 // x-cdi-content-type names a host-assisted clone
    bool expect_continue = false;                    // "Expect: 100-continue": answer 100 before reading
};

using decision = std::variant<policy_reply, upload_plan>;

// authorized: the client certificate's leaf CN is CLIENT_NAME (client_auth); state: the upload
// state when the header was read. A plan is returned only for an idle state: the session still
// takes the state with upload_state::begin() before reading the body.
decision decide(const boost::beast::http::request_header<>& req, upload_state::state state, bool authorized);

}  // namespace cdi
