#pragma once
// The S3 origin (IMPORTER_SOURCE=s3, CDI's s3 source: GetObject of a path-style endpoint): an
// http_source whose every request to the endpoint is signed with AWS Signature V4 (service s3,
// x-amz-content-sha256 of the empty body, x-amz-date, the credential scope of the endpoint's region),
// signed afresh for each retry and each Range resume. Everything the HTTP origin does applies:
// redirects (unsigned to another origin), retries, Range resume, the caller's checksum and progress.
//
// Credentials: http_options::credentials (IMPORTER_ACCESS_KEY_ID / IMPORTER_SECRET_KEY, both set);
// without them the requests go unsigned (anonymous: a public bucket). Never Basic auth, never the
// extra headers (CDI's S3 client sends neither), no HEAD probe (CDI's client issues only the GET).
#include "cdi/progress.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_source.hpp"

#include <memory>
#include <string_view>

namespace cdi {

// The object at endpoint (s3_endpoint.hpp), open at its first byte. Errors keep http_source's
// classes (errc::auth for 401/403, …) with CDI's words before them: `could not get s3 object:
// "bucket/key": …`; a bad endpoint is errc::bad_request.
result<std::unique_ptr<http_source>> open_s3_object(std::string_view endpoint, http_options opts, const cancel_token& cancel);

}  // namespace cdi
