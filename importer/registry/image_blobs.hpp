#pragma once
// Verification of what an image_source hands out (security.md 2.5: verify each blob's digest while
// streaming). Content-addressed data is trusted only once its bytes hash to its digest and their
// length is the descriptor's size; a mismatch is errc::digest_mismatch and nothing built from the
// blob may be reported complete.
#include "cdi/error.hpp"
#include "cdi/source.hpp"
#include "importer/stages/checksum_source.hpp"
#include "importer/stages/read_small.hpp"
#include "importer/registry/image_manifest.hpp"
#include "importer/registry/image_source.hpp"

#include <cstddef>
#include <memory>
#include <string>

namespace cdi {

// Manifests, indexes and configs are small; anything larger is refused rather than buffered.
inline constexpr std::size_t max_manifest_bytes = 4 << 20;
inline constexpr std::size_t max_config_bytes = 4 << 20;

// "sha256:<hex>" as a checksum_spec; errc::bad_image for another algorithm or a malformed digest.
result<checksum_spec> digest_spec(const std::string& digest);

// A blob stream that fails unless exactly d.size bytes arrive and they hash to d.digest. what names
// the blob in errors ("layer sha256:… of host/repo"). The returned checksum_source is the top, so a
// consumer that stops early can drain_and_verify() it.
result<std::unique_ptr<checksum_source>> verified_blob(source_ptr blob, const descriptor& d, const std::string& what);

// A manifest's body checked against the digest it was fetched by (nothing to check when by tag).
result<void> verify_manifest(const manifest_bytes& m, const std::string& what);

}  // namespace cdi
