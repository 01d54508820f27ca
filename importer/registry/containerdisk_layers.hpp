#pragma once
// Which layers of a containerdisk manifest are worth fetching (security.md: a hostile manifest must
// not turn into work). A manifest may list one digest many times; every copy below the uppermost
// one cannot change the final filesystem view: each path it adds, and each path its whiteouts or
// opaque markers hide, is decided again by the identical upper copy, whose whiteouts also reach
// everything below the lower copy. So each digest is fetched once, at its uppermost position.
#include "cdi/error.hpp"
#include "importer/registry/image_manifest.hpp"

#include <cstddef>
#include <vector>

namespace cdi {

// The most distinct layers a containerdisk may have: 127, the depth Docker's aufs storage could
// stack (the limit image builders have kept to since); a real containerdisk has one to a few layers.
// Far below the 1024 entries a manifest may list (image_manifest.hpp).
inline constexpr std::size_t max_distinct_layers = 127;

// layers: the manifest's, base first. Returns the ones to read, base first, each digest once at its
// uppermost position. Pure; runs before any blob is fetched. Refusals (errc::bad_image):
//   - the same digest listed with two different sizes (one of them cannot match its bytes);
//   - more than max_distinct_layers distinct digests.
result<std::vector<descriptor>> layers_to_read(const std::vector<descriptor>& layers);

}  // namespace cdi
