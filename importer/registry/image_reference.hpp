#pragma once
// The IMPORTER_ENDPOINT of a registry import, parsed as containers/image's alltransports.ParseImageName
// does (contract section 5): "transport:reference", split at the first ':'. Two transports:
//   docker://[domain/]path[:tag][@digest]   (docker/distribution reference grammar, normalized: short
//                                            names live on docker.io, one-component names get "library/")
//   oci-archive:/abs/path.tar[:image]       (path and image split at the first ':')
// Pure parsing: nothing is resolved or contacted.
#include "cdi/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace cdi {

struct image_reference {
    enum class transport { docker, oci_archive };
    transport kind = transport::docker;
    // docker://
    std::string registry;    // host[:port] as given ("127.0.0.1:5000", "quay.io", "[::1]:5000"); short names -> "docker.io"
    std::string repository;  // "kubevirt/fedora-cloud-container-disk-demo"; docker.io short names get "library/"
    std::string tag;         // "latest" when neither tag nor digest is given; empty when digest is set
    std::string digest;      // "sha256:<64 lower-hex>" / "sha512:<128 lower-hex>" or empty
    // oci-archive:
    std::filesystem::path archive;  // the tar file, absolute
    std::string archive_image;      // the optional ":reference" after the path (matched against
                                    // org.opencontainers.image.ref.name), may be empty

    // The host to talk to for API v2: "registry-1.docker.io" for docker.io, else registry.
    std::string api_host() const;
    // "registry/repository:tag" or "registry/repository@digest" (for logs and errors);
    // "oci-archive:/path[:img]".
    std::string to_string() const;
    // The manifest reference for /v2/<repo>/manifests/<ref>: digest if set, else tag.
    std::string manifest_reference() const;

    // Every error is errc::bad_request with one line naming the input:
    //   Invalid image name "<endpoint>", expected colon-separated transport:reference
    //   Invalid image name "<endpoint>", unknown transport "<t>"
    //   Invalid image name "<endpoint>": <reason>
    static result<image_reference> parse(std::string_view endpoint);
};

// "sha256:" + 64 lower-case hex digits, or "sha512:" + 128 (the algorithms go-digest accepts for
// content we verify). Shared with the manifest parser.
bool is_valid_digest(std::string_view digest) noexcept;

}  // namespace cdi
