#pragma once
// IMPORTER_SOURCE=registry with the pod pull method (contract section 5): from the endpoint
// (docker://… or oci-archive:…) to a stream of the containerdisk's disk, ready for import_job,
// plus the labels for the termination message. Raw disks then stream straight to the target and
// convertible ones go through scratch and qemu-img like any other origin (CDI stages every
// registry disk in scratch first).
//
// Errors keep CDI's phase words so the controller and users see the texts they know:
//   "Unable to transfer source data to scratch space: Failed to read registry image: failed to
//    pull image: <cause>"   the registry could not be reached, authenticated or read (ImagePullFailed)
//   "Unable to transfer source data to scratch space: Failed to read registry image: <cause>"
//                            a bad reference, no matching platform, a wrong architecture, bootc,
//                            a missing or ambiguous disk, a blob that does not match its digest.
#include "cdi/progress.hpp"
#include "cdi/source.hpp"
#include "importer/registry/containerdisk_image.hpp"
#include "importer/registry/containerdisk_source.hpp"
#include "importer/http/http_options.hpp"
#include "importer/registry/image_source.hpp"

#include <map>
#include <memory>
#include <string>

namespace cdi {

class registry_pull {
public:
    // http: the importer's HTTP settings (credentials are the registry's, trust, proxy, INSECURE_TLS).
    // architecture: IMPORTER_REGISTRY_IMAGE_ARCHITECTURE (may be empty). cancel must outlive the pull.
    static result<std::unique_ptr<registry_pull>> open(const std::string& endpoint, const http_options& http,
                                                       const std::string& architecture, const cancel_token& cancel);

    // The disk's bytes; it borrows this pull's image source, so the pull must outlive it.
    source_ptr take_disk() { return std::move(disk_); }
    const std::map<std::string, std::string>& labels() const noexcept { return image_.labels; }

private:
    registry_pull() = default;

    std::unique_ptr<image_source> images_;
    containerdisk_image image_;
    source_ptr disk_;
};

}  // namespace cdi
