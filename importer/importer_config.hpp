#pragma once
// The importer pod's configuration from its environment (contract section 1.1/1.2), read once at
// start-up. Invalid values throw std::invalid_argument with a one-line reason (start-up only).
//
// Fixed pod paths can be moved for tests: CDI_DATA_DIR (/data), CDI_SCRATCH_DIR (/scratch),
// CDI_BLOCK_DEVICE (/dev/cdi-block-volume), CDI_TERMINATION_LOG (/dev/termination-log).
#include "cdi/job.hpp"

#include <filesystem>
#include <functional>
#include <string>

namespace cdi {

struct importer_config {
    std::string source;    // IMPORTER_SOURCE: none, file (our extension), http, registry, ...
    std::string endpoint;  // IMPORTER_ENDPOINT
    std::string owner_uid; // OWNER_UID (progress metric label)
    job_spec spec;
    std::filesystem::path termination_log;

    using env_lookup = std::function<const char*(const char*)>;
    static importer_config from_env(const env_lookup& getenv_fn);
};

// Go's strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False; empty is false.
bool parse_go_bool(const std::string& name, const std::string& value);

}  // namespace cdi
