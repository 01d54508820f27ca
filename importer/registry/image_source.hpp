#pragma once
// Where a containerdisk's manifests and blobs come from (contract section 5): a registry over the
// HTTP API v2 (registry_client) or an OCI layout inside a tar file (oci_archive). Both hand out
// bytes exactly as stored; verifying them against their digests is the caller's (image_blobs), so
// every origin is checked the same way.
#include "cdi/error.hpp"
#include "cdi/source.hpp"
#include "importer/registry/image_manifest.hpp"

#include <string>

namespace cdi {

struct manifest_bytes {
    std::string body;
    std::string content_type;  // the response's Content-Type or the descriptor's media type; may be empty
    std::string digest;        // the digest the body must have ("sha256:…"), empty when fetched by tag
};

class image_source {
public:
    virtual ~image_source() = default;

    // The manifest (or index) the reference names: a registry's by tag or digest; an archive's
    // index.json entry chosen by its ref.name annotation (or its only entry).
    virtual result<manifest_bytes> top_manifest() = 0;
    // A manifest named by a descriptor of an index, fetched by digest.
    virtual result<manifest_bytes> manifest(const descriptor& d) = 0;
    // A blob's bytes, unverified, streamed.
    virtual result<source_ptr> open_blob(const descriptor& d) = 0;
    // "127.0.0.1:5000/disks/fedora:40" or "oci-archive:/path", for messages.
    virtual std::string name() const = 0;
};

}  // namespace cdi
