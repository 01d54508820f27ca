#pragma once
// Node pull (contract 1.7): the image-server sidecar in the same pod serves the containerdisk's disk
// on localhost; its ready file names the disk file, and GET /info gives the image's environment.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"
#include "importer/http/http_options.hpp"
#include "importer/importer_config.hpp"

#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace cdi {

// /info is read before the disk (a bad one must fail the import before anything is written), at most
// this much of it, within this long (a stalled sidecar fails; issue 19.5).
inline constexpr std::size_t max_info_bytes = 1u << 20;
inline constexpr std::chrono::milliseconds info_deadline = std::chrono::seconds(10);

// The sidecar is on localhost and never redirects in CDI's design: no redirect is followed.
http_options sidecar_http_options(http_options base);

// Waits up to 60 s for the sidecar's ready file, whose content is the image's file name, and points
// the endpoint's trailing "disk.img" at it. Its one failure (also when canceled) is errc::timeout with
// CDI's own words, "Timeout waiting for file <path>": the termination message as is (contract 1.3
// step 7), not an "Unable to connect" one, so the caller waits for it before open_origin.
result<std::string> await_ready_file(const importer_config& cfg, const cancel_token& cancel);

// The image's environment from the sidecar's GET /info, as the PVC's labels. Errors: the source's,
// errc::bad_request (over max_info_bytes, not the JSON expected), errc::timeout (over info_deadline).
result<std::map<std::string, std::string>> fetch_node_labels(const importer_config& cfg, const std::string& endpoint,
                                                              const cancel_token& cancel);

}  // namespace cdi
