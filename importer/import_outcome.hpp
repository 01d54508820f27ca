#pragma once
// The importer's outcome (contract 1.4): the exit status plus the termination message the controller
// reads. Failures are a plain "Unable to ..." line and exit 1; successes the JSON message and exit 0.
#include "cdi/error.hpp"
#include "cdi/job.hpp"
#include "importer/importer_config.hpp"
#include "importer/job/import_job.hpp"
#include "importer/pod/termination_message.hpp"

#include <map>
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

// The data source could not be built (contract 1.3 step 8): "Unable to connect to <source> data
// source: E_CLASS: …", exit 1.
int source_unavailable(const importer_config& cfg, const error& err);

// Anything failing once the source is built: "Unable to process data: E_CLASS: …", exit 1.
int processing_failed(const importer_config& cfg, const error& err);

// The import job's outcome (contract 1.4): success ("Import Complete" with the preallocation flag and
// `labels`, after the done file); scratch space required (exit 0, the controller re-creates the pod
// with scratch); a checksum mismatch (job's output discarded, exit 0: checksum_mismatch); any other
// error, processing_failed.
int job_outcome(const importer_config& cfg, import_job& job, const result<job_result>& r,
                std::map<std::string, std::string> labels);

// A blank disk's outcome (IMPORTER_SOURCE=none): "Import Complete" with the preallocation flag, or
// "Unable to create blank image: E_CLASS: …", exit 1. CDI's refusal (blank_disk_refusal) comes first.
int blank_outcome(const importer_config& cfg, const result<job_result>& r);

}  // namespace cdi
