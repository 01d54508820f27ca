#include "importer/origin.hpp"

#include "cdi/ascii.hpp"

#include "importer/cloud/gcs_source.hpp"
#include "importer/cloud/s3_source.hpp"
#include "importer/http/http_range_reader.hpp"
#include "importer/http/http_source.hpp"
#include "importer/http/http_url.hpp"
#include "importer/node_pull.hpp"
#include "importer/stages/checksum.hpp"
#include "importer/stages/file_source.hpp"
#include "importer/stages/peek_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cdi {

std::string local_path(const std::string& endpoint) {
    if (endpoint.rfind("file://", 0) == 0) return endpoint.substr(7);
    return endpoint;
}

bool looks_like_html(std::span<const std::byte> head) {
    const auto first = head.first(std::min<std::size_t>(head.size(), 64));
    const std::string text = ascii::lower(std::string_view(reinterpret_cast<const char*>(first.data()), first.size()));
    auto start = text.find_first_not_of(" \t\r\n\xef\xbb\xbf");
    if (start == std::string::npos) return false;
    return text.compare(start, 14, "<!doctype html") == 0 || text.compare(start, 5, "<html") == 0;
}

namespace {

// The HTTP or S3 body as the job reads it: the checksum over the raw bytes, and the refusal of an
// HTML page served where a disk image was expected.
result<origin> checked_body(const importer_config& cfg, std::unique_ptr<http_source> http, const std::optional<checksum_spec>& sum,
                            const cancel_token& cancel) {
    origin o;
    if (auto spec = http->reread_spec(); spec && !sum) o.reread = std::make_unique<http_range_reader>(std::move(*spec), cancel);
    const auto& type = http->content_type();
    if (cfg.spec.content == content_type::kubevirt && type.rfind("text/", 0) == 0) {
        spdlog::warn("{} is served as {}; importing it as a disk image anyway", http->final_url(), type);
    }
    const bool html = type.rfind("text/html", 0) == 0;
    const std::string url = http->final_url();
    o.src = std::move(http);
    if (sum) {
        auto checked = checksum_source::create(std::move(o.src), *sum);
        if (!checked) return checked.error();
        o.checksum = checked->get();
        o.src = std::move(*checked);
    }
    if (html && cfg.spec.content == content_type::kubevirt) {
        auto peeked = peek_source::make(std::move(o.src), 512);
        if (!peeked) return peeked.error();
        if (looks_like_html((*peeked)->head()))
            return make_error(errc::format_mismatch, url + " answered with an HTML page (Content-Type " + type + "), not a disk image");
        o.src = std::move(*peeked);
    }
    return o;
}

}  // namespace

std::optional<error> unsupported_source(const std::string& source) {
    std::string needs;
    if (source == "imageio") needs = "oVirt's engine and ImageIO APIs";
    else if (source == "vddk") needs = "VMware's VDDK library";
    else return std::nullopt;
    return make_error(errc::unsupported_source, "this importer image does not import from " + source + " (it needs " + needs +
                                                    "); use CDI's own importer image for imageio and VDDK DataVolumes");
}

result<origin> open_origin(const importer_config& cfg, const std::string& endpoint, const cancel_token& cancel) {
    origin o;
    if (cfg.source == "file") {
        o.local_path = local_path(endpoint);
        auto f = file_source::open(*o.local_path);
        if (!f) return f.error();
        o.src = std::move(*f);
        return o;
    }
    // http, s3 and gcs: the checksum is parsed before anything is fetched (CDI: a bad one fails construction).
    auto sum = checksum_spec::parse(cfg.pull_method == "node" ? std::string() : cfg.checksum);
    if (!sum) return sum.error();
    if (cfg.source == "gcs") {
        auto object = open_gcs_object(endpoint, cfg.gcs_key_file, cfg.http, cancel);
        if (!object) return object.error();
        return checked_body(cfg, std::move(*object), *sum, cancel);
    }
    if (cfg.source == "s3") {
        auto object = open_s3_object(endpoint, cfg.http, cancel);
        if (!object) return object.error();
        return checked_body(cfg, std::move(*object), *sum, cancel);
    }
    // A URL that does not parse is never echoed (it may hold a password): the variable is named instead.
    if (auto u = http_url::parse(endpoint); !u) return error{u.error().code, "IMPORTER_ENDPOINT: " + u.error().context};
    if (cfg.pull_method == "node") {
        // /info before the disk: an unusable one fails here, not after the disk is written (issue 19.5).
        auto labels = fetch_node_labels(cfg, endpoint, cancel);
        if (!labels) return error{labels.error().code, "cannot read the image's labels: " + labels.error().context};
        o.node_labels = std::move(*labels);
    }
    auto http = http_source::open(endpoint, cfg.pull_method == "node" ? sidecar_http_options(cfg.http) : cfg.http, cancel);
    if (!http) return http.error();
    auto labels = std::move(o.node_labels);
    auto checked = checked_body(cfg, std::move(*http), *sum, cancel);
    if (checked) checked->node_labels = std::move(labels);
    return checked;
}

}  // namespace cdi
