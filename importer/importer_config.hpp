#pragma once
// The importer pod's configuration from its environment (contract section 1.1/1.2), read once at
// start-up. Invalid values throw std::invalid_argument with a one-line reason (start-up only).
//
// Fixed pod paths can be moved for tests: CDI_DATA_DIR (/data), CDI_SCRATCH_DIR (/scratch),
// CDI_BLOCK_DEVICE (/dev/cdi-block-volume), CDI_TERMINATION_LOG (/dev/termination-log),
// CDI_PROXY_CERT_DIR (/proxycerts/), CDI_EXTRA_HEADERS_DIR (/extraheaders), and the metrics
// endpoint's CDI_METRICS_ADDRESS / CDI_METRICS_PORT (all addresses, 8443; port 0 picks a free one).
#include "cdi/job.hpp"
#include "importer/http/http_options.hpp"
#include "importer/pod/environment.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cdi {

struct importer_config {
    std::string source;    // IMPORTER_SOURCE: none, file (our extension), http, registry, ...
    std::string endpoint;  // IMPORTER_ENDPOINT
    std::string owner_uid; // OWNER_UID (progress metric label)
    job_spec spec;
    std::filesystem::path termination_log;

    http_options http;          // INSECURE_TLS, IMPORTER_CERT_DIR, /proxycerts/, credentials, headers, proxies
    std::filesystem::path gcs_key_file;  // GOOGLE_APPLICATION_CREDENTIALS (gcs): a service-account key, or empty
    std::string checksum;       // IMPORTER_CHECKSUM, parsed when the HTTP source is built (CDI's order)
    std::string pull_method;    // IMPORTER_PULL_METHOD: "node" for a registry node pull, else empty
    std::string registry_architecture;  // IMPORTER_REGISTRY_IMAGE_ARCHITECTURE: "amd64", "arm64", or empty
    std::filesystem::path ready_file;  // IMPORTER_READY_FILE (node pull)
    std::filesystem::path done_file;   // IMPORTER_DONE_FILE (node pull)
    std::string metrics_address;  // empty: every address, IPv6 and IPv4 (Go's ":8443")
    unsigned short metrics_port = 8443;

    using env_lookup = ::cdi::env_lookup;
    // environ_entries: the process environment as "NAME=value" (for IMPORTER_EXTRA_HEADER_*).
    static importer_config from_env(const env_lookup& getenv_fn, const std::vector<std::string>& environ_entries = {});
};

}  // namespace cdi
