#pragma once
// A GCS endpoint as CDI's gcs source reads IMPORTER_ENDPOINT (contract section 4, "Other sources"):
// `gs://bucket/object…` (Google's endpoint, https://storage.googleapis.com), or
// `http(s)://host/bucket/object…` with that scheme and host as the endpoint. CDI splits the text on
// '/' without decoding it; the object is then escaped as one path segment (Go's url.PathEscape, '/'
// too) into the URL the Go storage client's XML reader fetches: <endpoint>/<bucket>/<object>. Pure.
#include "cdi/error.hpp"

#include <string>
#include <string_view>

namespace cdi {

inline constexpr std::string_view gcs_default_host = "storage.googleapis.com";

struct gcs_location {
    std::string url;     // scheme://host/<bucket>/<escaped object>
    std::string bucket;
    std::string object;  // as written in the endpoint
};

// Errors (errc::bad_request, never echoing the text): not gs/http/https, no bucket or no object, an
// http(s) URL http_url refuses.
result<gcs_location> parse_gcs_endpoint(std::string_view endpoint);

}  // namespace cdi
