#pragma once
// The origin of an import (IMPORTER_SOURCE file, http, s3 or gcs, the node pull's sidecar included): the byte
// source the import job reads, built as CDI builds its data source (contract 1.3 step 8), with the
// checks that belong before the first byte is written: the checksum's syntax, the sidecar's /info, an
// HTML page served where a disk image was expected.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"
#include "cdi/range_reader.hpp"
#include "cdi/source.hpp"
#include "importer/importer_config.hpp"
#include "importer/stages/checksum_source.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace cdi {

struct origin {
    source_ptr src;
    std::optional<std::filesystem::path> local_path;
    checksum_source* checksum = nullptr;  // owned by src's chain; alive while the job holds it
    std::map<std::string, std::string> node_labels;  // node pull: from the sidecar's /info, read first
    // HTTP, S3, GCS: the body's bytes read again by position, when the origin takes ranges and holds
    // them to a validator, and no checksum is to be verified (re-read bytes would escape it).
    std::unique_ptr<range_reader> reread;
};

// file:///path or a plain absolute path (our extension for local images; the bench and quick start use it).
std::string local_path(const std::string& endpoint);

// An HTML page where a disk image was expected (a login or error page served with 200): refused
// rather than written as a "raw disk". Only with Content-Type text/html and markup in the first bytes.
bool looks_like_html(std::span<const std::byte> head);

// CDI's sources this image does not import: imageio (oVirt's engine and ImageIO APIs) and vddk
// (VMware's proprietary VDDK library). The refusal (errc::unsupported_source) names the source and
// says which image does import it; nullopt for every other source.
std::optional<error> unsupported_source(const std::string& source);

// Builds the data source from `endpoint` (IMPORTER_ENDPOINT, or for a node pull the one the ready
// file named: importer/node_pull.hpp). Every error is one the caller reports as CDI's "Unable to
// connect to <source> data source: …" (importer/import_outcome.hpp).
result<origin> open_origin(const importer_config& cfg, const std::string& endpoint, const cancel_token& cancel);

}  // namespace cdi
