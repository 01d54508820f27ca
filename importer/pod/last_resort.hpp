#pragma once
// The last resort of both binaries (issue 19.1): an exception that escapes everything else (main's
// body, or any thread, through std::terminate) still ends the pod with a reason the controller can
// show, `Unable to process data: <E_CLASS>: unexpected failure: <what>` in the termination log, exit
// status 1, and the half-written target removed (it must never look like a finished import).
#include "cdi/error.hpp"
#include "cdi/job.hpp"

#include <exception>
#include <filesystem>
#include <functional>
#include <string>

namespace cdi::last_resort {

// Pure: the message for an escaped exception (null: terminate without one). The class is the
// error's own for a std::system_error of cdi's category, else E_IO; what() is cut to 256 bytes.
std::string describe(std::exception_ptr e);

// What is removed on a crash: the disk image target when it is a regular file. A block device is
// left as it is, and so is an archive's volume (what this import extracted is not known here, and
// what the volume held before must stay; the next attempt extracts again).
void remove_target(const job_spec& spec) noexcept;

// Installs the std::terminate handler. Until configure() the message goes to CDI_TERMINATION_LOG
// (or /dev/termination-log) and nothing is removed.
void install();
// Where the message goes and what the crash removes, once the configuration is known.
void configure(std::filesystem::path termination_log, job_spec spec);

// install(), then body(); an exception escaping body is reported as the handler does and is 1.
int run(const std::function<int()>& body);

}  // namespace cdi::last_resort
