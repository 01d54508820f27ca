#pragma once
// Node pull (contract 1.7): the image-server sidecar in the same pod serves the containerdisk's disk
// on localhost; its ready file names the disk file, and GET /info gives the image's environment.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"
#include "importer/importer_config.hpp"

#include <map>
#include <string>

namespace cdi {

// Waits up to 60 s for the sidecar's ready file, whose content is the image's file name, and points
// the endpoint's trailing "disk.img" at it.
result<std::string> await_ready_file(const importer_config& cfg, const cancel_token& cancel);

// The image's environment from the sidecar's GET /info, as the PVC's labels.
result<std::map<std::string, std::string>> fetch_node_labels(const importer_config& cfg, const std::string& endpoint,
                                                              const cancel_token& cancel);

}  // namespace cdi
