#pragma once
// From an image reference to the layers of one containerdisk (contract section 5): the manifest or
// index the reference names, the platform's manifest chosen from an index, the image config; every
// manifest fetched by digest and the config verified against their digests.
//
// CDI's refusals with CDI's texts (the importer prefixes them with its phase wrappers):
//   - an index without the wanted platform: `Error retrieving image: choosing image instance: no
//     image found in image index for architecture "<a>", variant "", OS "linux"`;
//   - a single image whose config architecture is not the one explicitly asked for:
//     `Error validating architecture: manifest image architecture: "<a>" doesn't match requested architecture: "<b>"`;
//   - a bootable container (labels containers.bootc=1 or ostree.bootable=1): `bootc image detected: …`.
// The config's Env entries containing KUBEVIRT_IO_ become the termination message's labels.
// The manifest's layers are reduced to layers_to_read() (each digest once; bounded count) before
// the config or any layer is fetched.
#include "cdi/error.hpp"
#include "importer/registry/image_manifest.hpp"
#include "importer/registry/image_source.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cdi {

struct containerdisk_image {
    image_manifest manifest;
    std::vector<descriptor> layers;  // layers_to_read(manifest.layers), base first
    image_config config;
    std::map<std::string, std::string> labels;
};

// architecture: IMPORTER_REGISTRY_IMAGE_ARCHITECTURE; empty means this machine's for an index and
// no check for a single image (as containers/image without an architecture choice).
result<containerdisk_image> resolve_containerdisk(image_source& images, std::string_view architecture);

}  // namespace cdi
