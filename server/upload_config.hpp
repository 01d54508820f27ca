#pragma once
// The upload pod's configuration from its environment (contract section 6.1), read once at start-up.
// Invalid values that CDI treats as fatal throw std::invalid_argument with a one-line reason; values
// CDI parses leniently (FILESYSTEM_OVERHEAD, PREALLOCATION) fall back to 0 / false as CDI does.
//
// Test overrides of fixed pod paths: CDI_DATA_DIR (/data), CDI_SCRATCH_DIR (/scratch),
// CDI_TERMINATION_LOG (/dev/termination-log). Test-only knob: CDI_TEST_BODY_IDLE_TIMEOUT_MS (the
// 60 s body idle timer, shortened so a test can outlast it; a positive integer or it throws).
#include "cdi/job.hpp"
#include "importer/pod/environment.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace cdi {

struct upload_config {
    std::filesystem::path tls_key_file;
    std::filesystem::path tls_cert_file;
    std::filesystem::path client_cert_file;  // CA bundle signing allowed clients; empty = none
    std::string client_name;                 // the client certificate's CN must equal this
    std::string tls_ciphers;                 // comma-separated OpenSSL or IANA names; empty = OpenSSL defaults
    int tls_min_version = 0;                 // TLS1_2_VERSION etc.
    std::optional<std::chrono::system_clock::time_point> deadline;
    // LISTEN_ADDRESS: unset, empty, "0.0.0.0" or "::" = every address of both families (Go's rule,
    // importer/pod/listener.hpp); otherwise an IP literal.
    std::string listen_address;
    std::uint16_t listen_port = 8443;         // 0 = ephemeral; LISTEN_PORT that does not parse = 8443 (CDI)
    std::filesystem::path termination_log;
    std::chrono::milliseconds body_idle_timeout{60'000};  // client silence mid-body (not a disk stall)
    job_spec spec;

    using env_lookup = ::cdi::env_lookup;
    static upload_config from_env(const env_lookup& getenv_fn);
};

// "VersionTLS10".."VersionTLS13" → TLS1_VERSION..TLS1_3_VERSION; "" (set but empty) → TLS1_2_VERSION,
// CDI's effective default; anything else throws.
int parse_tls_version(const std::string& text);

// RFC 3339 ("2026-11-27T12:00:00Z", "...T12:00:00.5+02:00"); nullopt when it is not one.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

}  // namespace cdi
