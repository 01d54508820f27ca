#pragma once
// An S3 endpoint as CDI's s3 source reads IMPORTER_ENDPOINT (contract section 4, "Other sources"):
// `http(s)://host[:port]/bucket/key…`, path style; the first path segment is the bucket, the rest
// the key; plain HTTP when the scheme is http; the region from an `s3.<region>.amazonaws.com` host,
// else the host's first DNS label (the port included when the host has no dot: CDI reads Go's
// URL.Host). Pure.
#include "cdi/error.hpp"

#include <string>
#include <string_view>

namespace cdi {

struct s3_location {
    std::string url;     // scheme://authority/<bucket>/<key>, both URI-encoded as AWS's SDK encodes a path
    std::string bucket;  // decoded
    std::string key;     // decoded, '/' kept
    std::string region;
};

// The region CDI derives from Go's URL.Host ("host" or "host:port").
std::string s3_region(std::string_view host_port);

// Errors (errc::bad_request): a URL that does not parse or is not http(s) ("unable to parse endpoint:
// …", never echoing the text), no bucket or no key.
result<s3_location> parse_s3_endpoint(std::string_view endpoint);

// "bucket/key", the object's name in CDI's messages ("could not get s3 object: \"bucket/key\"").
inline std::string s3_object_name(const s3_location& l) { return l.bucket + "/" + l.key; }

}  // namespace cdi
