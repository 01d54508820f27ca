#pragma once
// The importer's outcome (contract 1.4): the exit status plus the termination message the controller
// reads. Failures are a plain "Unable to ..." line and exit 1; successes the JSON message and exit 0.
#include "cdi/error.hpp"
#include "importer/importer_config.hpp"
#include "importer/pod/termination_message.hpp"

#include <string>

namespace cdi {

// exit 1 with the plain-text message (contract 1.4: the controller reads it as the failure reason).
int fail(const importer_config& cfg, const std::string& text);

// exit 0 with msg as JSON.
int succeed(const importer_config& cfg, const termination_message& msg);

// Node pull: the done file tells the image-server sidecar to exit; CDI creates it (O_EXCL) before
// the success message, also when asking for scratch space.
bool create_done_file(const importer_config& cfg);

// A checksum mismatch is final (the controller stops retrying, contract 1.4/1.5): the data already
// written is already gone (the caller ran import_job::discard_output: only what this import wrote,
// never what the volume held before), then exit 0 with the message the controller matches.
int checksum_mismatch(const importer_config& cfg, const error& err);

}  // namespace cdi
