#pragma once
// What a request to the upload server gets, decided from its header and the upload state alone,
// in CDI's order (pkg/uploadserver/uploadserver.go: the mux, then validateShouldHandleRequest,
// then the handler's own checks):
//   unknown path → 404; /healthz → 200 "OK"; HEAD on an async path → 200; not POST → 404;
//   no authorized client certificate → 401; uploading or processing → 503; done → 409;
//   then the route's checks: a clone header on an async path → 500 "async clone not supported",
//   a form path without a multipart boundary → 400 E_BAD_REQUEST; otherwise the upload starts.
// So a client retrying while an upload runs always reads 503, whatever its request looks like.
// Pure: the session does the I/O (upload_state::begin, the answer, the log).
#include "cdi/job.hpp"
#include "server/clone/clone_job.hpp"
#include "server/http_session.hpp"
#include "server/upload_state.hpp"

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>

namespace cdi {

// An upload to start: how the body is read and what the job does with it.
struct upload_plan {
    bool async = false;
    content_type content = content_type::kubevirt;  // archive for upload-archive
    std::string boundary;                            // form paths: the multipart boundary
    std::optional<clone_kind> clone;                 // x-cdi-content-type names a host-assisted clone
};

struct verdict {
    unsigned status = 200;            // the answer, when plan is empty
    std::string body;
    std::optional<upload_plan> plan;  // set: start this upload (status and body unused)
};

// authorized: the client certificate's leaf CN is CLIENT_NAME (client_auth); state: the upload
// state when the header was read.
verdict decide(route rt, upload_state::state state, const boost::beast::http::request_header<>& req,
               bool authorized);

}  // namespace cdi
