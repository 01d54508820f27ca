// Kept in step with server/upload_config.cpp by tests/server/upload_usage_test.cpp (every variable the
// configuration reads is named here).
#include "server/upload_usage.hpp"

#include "importer/pod/command_line.hpp"

#include <string>

namespace cdi {

std::string_view upload_usage() noexcept {
    // Built once; the flags block is command_line's, shared by both binaries.
    static const std::string text = R"(cdi-uploadserver: the upload pod of KubeVirt's Containerized Data Importer (CDI), also the target
of a host-assisted clone. It serves HTTPS with client certificates, takes one disk image (or a tar
archive, or a clone source's stream) into the pod's volume, then exits 0 with a JSON termination
message. Configured by the environment, as the CDI upload controller sets it.

)" + command_line_usage("cdi-uploadserver") + R"(
Environment:
  TLS_KEY_FILE, TLS_CERT_FILE
                      the server's key and certificate (PEM; required)
  CLIENT_CERT_FILE    the CA bundle that signs allowed clients (the upload proxy)
  CLIENT_NAME         the common name the client certificate must carry
  TLS_MIN_VERSION     VersionTLS10 .. VersionTLS13 (default VersionTLS12)
  TLS_CIPHERS         comma-separated cipher names (OpenSSL or IANA)
  LISTEN_ADDRESS      the address to listen on (default: every address, IPv6 and IPv4)
  LISTEN_PORT         the port (default 8443)
  DEADLINE            an RFC 3339 time after which the server stops and says so
  DESTINATION         the block volume to write (default /data/disk.img, a file)
  UPLOAD_IMAGE_SIZE   the requested size, a Kubernetes quantity (e.g. 10Gi)
  FILESYSTEM_OVERHEAD the fraction of a filesystem volume kept free (e.g. 0.055)
  PREALLOCATION       true: allocate every byte of the target
  CDI_CONVERTER       stream (default: qcow2 and streamOptimized VMDK decoded as they arrive) or
                      qemu-img (those are staged in /scratch and converted by qemu-img too)

Requests (POST, under /v1beta1/ or /v1alpha1/):
  upload, upload-async            a disk image as the body (async: answered once it is validated)
  upload-form, upload-form-async  a disk image as a multipart/form-data file
  upload-archive                  a tar extracted into /data
  upload with x-cdi-content-type  a host-assisted clone's Snappy-framed stream
  GET /healthz                    200 while the server runs

Pod paths:
  /data/disk.img          the target on a filesystem volume
  /scratch                scratch space, for images qemu-img converts (and the decoder's spill)
  /dev/termination-log    the outcome the upload controller reads

Moved for tests and local runs: CDI_DATA_DIR, CDI_SCRATCH_DIR, CDI_TERMINATION_LOG;
CDI_TEST_BODY_IDLE_TIMEOUT_MS shortens the 60 s wait for a silent client (tests only).

Example:
  TLS_KEY_FILE=tls.key TLS_CERT_FILE=tls.crt CLIENT_CERT_FILE=proxy-ca.crt CLIENT_NAME=cdi-uploadproxy \
  LISTEN_PORT=8443 CDI_DATA_DIR=/tmp/data CDI_SCRATCH_DIR=/tmp/scratch \
  CDI_TERMINATION_LOG=/tmp/termination-log cdi-uploadserver
)";
    return text;
}

}  // namespace cdi
