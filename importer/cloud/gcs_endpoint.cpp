#include "importer/cloud/gcs_endpoint.hpp"

#include "cdi/ascii.hpp"
#include "importer/http/http_url.hpp"

#include <vector>

namespace cdi {

result<gcs_location> parse_gcs_endpoint(std::string_view endpoint) {
    // CDI: strings.Split(endpoint, "/"): [scheme:, "", host-or-bucket, ...].
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const auto slash = endpoint.find('/', start);
        parts.emplace_back(endpoint.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    const auto scheme = ascii::lower(parts[0]);
    const auto join = [&](std::size_t from) {
        std::string out;
        for (std::size_t i = from; i < parts.size(); ++i) out += (i == from ? "" : "/") + parts[i];
        return out;
    };
    gcs_location l;
    std::string base;
    if (scheme == "gs:" && parts.size() > 2 && parts[1].empty()) {
        l.bucket = parts[2];
        l.object = join(3);
        base = "https://" + std::string(gcs_default_host);
    } else if ((scheme == "http:" || scheme == "https:") && parts.size() > 3 && parts[1].empty()) {
        if (auto u = http_url::parse(endpoint); !u) return make_error(errc::bad_request, "GCS Importer: unable to parse endpoint IMPORTER_ENDPOINT: " + u.error().context);
        base = scheme + "//" + parts[2];
        l.bucket = parts[3];
        l.object = join(4);
    } else {
        return make_error(errc::bad_request, "GCS Importer: unable to parse endpoint IMPORTER_ENDPOINT: expected gs://bucket/object or http(s)://host/bucket/object");
    }
    if (l.bucket.empty() || l.object.empty())
        return make_error(errc::bad_request, "GCS Importer: the endpoint names no " + std::string(l.bucket.empty() ? "bucket" : "object"));
    l.url = base + "/" + percent_encode(l.bucket) + "/" + percent_encode(l.object);
    return l;
}

}  // namespace cdi
