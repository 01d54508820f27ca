#pragma once
// Registry manifests, image indexes and image configs (Docker schema 2 and OCI image-spec v1), parsed
// and checked before anything is fetched on their word: digests well-formed, sizes present, counts
// bounded, layers of a media type the containerdisk importer can unpack. Errors are errc::bad_image
// with one line naming what was refused. The caller bounds the body size.
#include "cdi/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cdi {

struct platform {
    std::string os, architecture, variant;
};

struct descriptor {
    std::string media_type;
    std::string digest;  // validated "sha256:<64 hex>" (or sha512:<128 hex>)
    std::uint64_t size = 0;
    std::optional<cdi::platform> platform;
    std::map<std::string, std::string> annotations;
    std::vector<std::string> urls;  // foreign layers
};

struct image_index {
    std::string media_type;
    std::vector<descriptor> manifests;
};

struct image_manifest {
    std::string media_type;
    descriptor config;
    std::vector<descriptor> layers;
};

struct image_config {
    std::string architecture, os, variant;
    std::vector<std::string> env;               // config.Env
    std::map<std::string, std::string> labels;  // config.Labels
};

namespace media_types {
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
}  // namespace media_types

// Bounds on what one manifest or index may list (far above real images; keeps a hostile registry
// from making us allocate or iterate without limit).
inline constexpr std::size_t max_manifest_entries = 1024;

// The Accept header value a client sends for manifests (all four media types above).
std::string manifest_accept_header();

// content_type: the response's Content-Type (parameters ignored) or empty. A specific Content-Type
// decides the kind, and a body "mediaType" must agree with it. When it is empty or generic
// (application/json, application/octet-stream, text/plain) the body's "mediaType" decides, else the
// shape ("manifests" -> OCI index, "config" + "layers" -> OCI manifest).
result<std::variant<image_index, image_manifest>> parse_manifest(std::string_view body, std::string_view content_type);

// An image config blob; "config", "Env" and "Labels" may be missing or null.
result<image_config> parse_image_config(std::string_view body);

// The first index entry for os/architecture. variant: empty wanted = any; for arm64 "" and "v8" are
// the same variant (a wanted "" matches "" or "v8", a wanted "v8" matches "v8" or ""). No match ->
// errc::bad_image: choosing image instance: no image found in image index for architecture "<arch>",
// variant "<variant>", OS "<os>"
result<descriptor> choose_platform(const image_index& index, std::string_view architecture,
                                   std::string_view variant = {}, std::string_view os = "linux");

// The architecture of this build as Go's GOARCH spells it (amd64, arm64, ppc64le, s390x, 386, arm).
std::string runtime_architecture();

}  // namespace cdi
