#pragma once
// The clone source pod's configuration (contract 6.8): CDI's controller gives the pod no command or
// arguments, only its environment; cdi-cloner reads it here once, at start-up.
//   CLIENT_CERT, CLIENT_KEY, SERVER_CA_CERT  PEM text (mutual TLS with the target's upload server)
//   UPLOAD_URL       https://cdi-upload-<pvc>.<ns>.svc:8443/v1beta1/upload
//   OWNER_UID        the progress metric's label
//   PREALLOCATION    Go's ParseBool; CDI exits when it is empty, so do we
//   VOLUME_MODE      block | filesystem (CDI's startup script treats anything but "block" as filesystem)
//   MOUNT_POINT      /dev/cdi-block-volume, or the read-only source mount
// Ours: CDI_TERMINATION_LOG (default /dev/termination-log), CDI_METRICS_ADDRESS, CDI_METRICS_PORT
// (default 8443), as the importer's.
// A missing or invalid value throws std::invalid_argument naming the variable, never its value
// when it is a secret (start-up only).
#include "cloner/upload_client.hpp"
#include "importer/pod/environment.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace cdi {

enum class volume_mode { block, filesystem };

struct cloner_config {
    std::string upload_url;
    upload_credentials credentials;
    std::string owner_uid;
    bool preallocation = false;
    volume_mode mode = volume_mode::filesystem;
    std::filesystem::path mount_point;
    std::filesystem::path termination_log = "/dev/termination-log";
    std::string metrics_address;
    std::uint16_t metrics_port = 8443;

    static cloner_config from_env(const env_lookup& getenv_fn);

    // x-cdi-content-type: blockdevice-clone | filesystem-clone.
    const char* content_type() const noexcept {
        return mode == volume_mode::block ? "blockdevice-clone" : "filesystem-clone";
    }
};

// CDI's success message (the controller derives the target's preallocation annotation from it).
std::string clone_complete_message(bool preallocation);

// cdi-cloner's --help text: the flags, then the environment above.
std::string cloner_usage();

}  // namespace cdi
