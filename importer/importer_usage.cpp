// Kept in step with importer/importer_config.cpp by tests/importer/importer_usage_test.cpp (every
// variable the configuration reads is named here).
#include "importer/importer_usage.hpp"

#include "importer/pod/command_line.hpp"

#include <string>

namespace cdi {

std::string_view importer_usage() noexcept {
    // Built once; the flags block is command_line's, shared by both binaries.
    static const std::string text = R"(cdi-importer: the importer pod of KubeVirt's Containerized Data Importer (CDI). It writes one
disk image from a source into the pod's volume, then exits: 0 with a JSON termination message, or 1
with an "Unable to ..." line. Configured by the environment, as the CDI controller sets it.

)" + command_line_usage("cdi-importer") + R"(
Environment:
  IMPORTER_SOURCE        none (blank disk), http, s3, gcs, registry, or file (a local path);
                         imageio and vddk are refused (use CDI's own importer image)
  IMPORTER_ENDPOINT      the image's URL (http://, https://, docker://, oci-archive:) or file path;
                         s3: http(s)://host[:port]/bucket/key (path style);
                         gcs: gs://bucket/object or http(s)://host/bucket/object
  GOOGLE_APPLICATION_CREDENTIALS
                         gcs: a service-account key file (none: anonymous)
  IMPORTER_CONTENTTYPE   kubevirt (a disk image, default; an OVA or a tar of one file: the disk
                         inside) or archive (a tar extracted into /data)
  IMPORTER_IMAGE_SIZE    the requested size, a Kubernetes quantity (e.g. 10Gi)
  IMPORTER_CHECKSUM      sha256:<hex> (or md5, sha1, sha512) the source must match
  IMPORTER_ACCESS_KEY_ID, IMPORTER_SECRET_KEY
                         basic-auth, registry or S3 credentials (S3 without them: anonymous)
  IMPORTER_CERT_DIR      a directory of CA certificates for the source
  INSECURE_TLS           true: do not verify the source's certificate
  IMPORTER_EXTRA_HEADER_<any>
                         "Name: value" request headers for the source
  HTTP_PROXY, HTTPS_PROXY, NO_PROXY (or http_proxy, https_proxy, no_proxy)
                         proxies for the source
  IMPORTER_PULL_METHOD   node: the disk is served by the image-server sidecar (node pull)
  IMPORTER_READY_FILE, IMPORTER_DONE_FILE
                         node pull: the sidecar's ready file, and the done file written at the end
  IMPORTER_REGISTRY_IMAGE_ARCHITECTURE
                         the platform to pick from a multi-architecture image (amd64, arm64, ...)
  OWNER_UID              the owner's UID, a label of the progress metric
  FILESYSTEM_OVERHEAD    the fraction of a filesystem volume kept free (e.g. 0.055)
  PREALLOCATION          true: allocate every byte of the target
  CACHE_MODE             TRYNONE (the only mode: O_DIRECT is tried either way)
  CDI_CONVERTER          stream (default: qcow2 and streamOptimized VMDK decoded as they arrive) or
                         qemu-img (those are staged in /scratch and converted by qemu-img too)

Pod paths:
  /data/disk.img         the target on a filesystem volume (archives extract into /data)
  /dev/cdi-block-volume  the target on a block volume (block mode when it exists)
  /scratch               scratch space, for images qemu-img converts (and the decoder's spill)
  /proxycerts/           CA certificates for the proxy
  /extraheaders/<i>/<key>
                         secret request headers, one "Name: value" per file
  /dev/termination-log   the outcome the controller reads
  :8443                  the HTTPS progress endpoint (kubevirt_cdi_import_progress_total)

Moved for tests and local runs: CDI_DATA_DIR, CDI_SCRATCH_DIR, CDI_BLOCK_DEVICE, CDI_PROXY_CERT_DIR,
CDI_EXTRA_HEADERS_DIR, CDI_TERMINATION_LOG, CDI_METRICS_ADDRESS, CDI_METRICS_PORT (0: any free port).

Example:
  IMPORTER_SOURCE=http IMPORTER_ENDPOINT=https://example.com/fedora.qcow2 IMPORTER_IMAGE_SIZE=10Gi \
  CDI_DATA_DIR=/tmp/data CDI_SCRATCH_DIR=/tmp/scratch CDI_TERMINATION_LOG=/tmp/termination-log \
  CDI_METRICS_PORT=0 cdi-importer
)";
    return text;
}

}  // namespace cdi
