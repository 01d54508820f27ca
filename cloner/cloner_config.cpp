#include "cloner/cloner_config.hpp"

#include "importer/pod/command_line.hpp"

#include <stdexcept>

namespace cdi {

namespace {

std::string required(const env_lookup& getenv_fn, const char* name) {
    std::string v = env(getenv_fn, name);
    if (v.empty()) throw std::invalid_argument(std::string("environment variable ") + name + " is missing");
    return v;
}

}  // namespace

cloner_config cloner_config::from_env(const env_lookup& getenv_fn) {
    cloner_config c;
    c.credentials.client_key_pem = required(getenv_fn, "CLIENT_KEY");
    c.credentials.client_cert_pem = required(getenv_fn, "CLIENT_CERT");
    c.credentials.server_ca_pem = required(getenv_fn, "SERVER_CA_CERT");
    c.upload_url = required(getenv_fn, "UPLOAD_URL");
    c.owner_uid = required(getenv_fn, "OWNER_UID");
    c.preallocation = parse_go_bool("PREALLOCATION", required(getenv_fn, "PREALLOCATION"));
    const std::string mode = required(getenv_fn, "VOLUME_MODE");
    if (mode == "block") c.mode = volume_mode::block;
    else if (mode == "filesystem") c.mode = volume_mode::filesystem;
    else throw std::invalid_argument("VOLUME_MODE \"" + mode + "\" is neither block nor filesystem");
    c.mount_point = required(getenv_fn, "MOUNT_POINT");
    c.termination_log = env(getenv_fn, "CDI_TERMINATION_LOG", "/dev/termination-log");
    c.metrics_address = env(getenv_fn, "CDI_METRICS_ADDRESS");
    if (auto port = env(getenv_fn, "CDI_METRICS_PORT"); !port.empty()) c.metrics_port = parse_port("CDI_METRICS_PORT", port);
    return c;
}

std::string clone_complete_message(bool preallocation) {
    return preallocation ? "Clone Complete, Preallocation applied" : "Clone Complete";
}

std::string cloner_usage() {
    return R"usage(cdi-cloner: the source pod of a host-assisted clone in KubeVirt's Containerized Data Importer
(CDI). It streams the volume at MOUNT_POINT (a block device's bytes, or a filesystem as a tar) in the
Snappy framing format to the target's upload server, then exits: 0 with the termination message
"Clone Complete", or 1 with an "Unable to clone: ..." line. Configured by the environment, as the
CDI clone controller sets it (the pod has no command or arguments).

)usage" + command_line_usage("cdi-cloner") + R"usage(
Environment:
  CLIENT_CERT, CLIENT_KEY   the client certificate and key (PEM text)
  SERVER_CA_CERT            the upload server's CA bundle (PEM text)
  UPLOAD_URL                https://cdi-upload-<pvc>.<namespace>.svc:8443/v1beta1/upload
  OWNER_UID                 the label of kubevirt_cdi_clone_progress_total
  PREALLOCATION             true or false (required)
  VOLUME_MODE               block or filesystem
  MOUNT_POINT               /dev/cdi-block-volume, or the source volume's mount
  CDI_TERMINATION_LOG       where the termination message goes (/dev/termination-log)
  CDI_METRICS_ADDRESS, CDI_METRICS_PORT
                            the progress endpoint (every interface, port 8443)

Example:
  VOLUME_MODE=filesystem MOUNT_POINT=/var/run/cdi/clone/source PREALLOCATION=false \
  UPLOAD_URL=https://cdi-upload-target.ns.svc:8443/v1beta1/upload OWNER_UID=<uid> \
  CLIENT_CERT="$(cat tls.crt)" CLIENT_KEY="$(cat tls.key)" SERVER_CA_CERT="$(cat ca.crt)" cdi-cloner
)usage";
}

}  // namespace cdi
