#pragma once
// CDI's termination message (contract section 1.4): the JSON `common.TerminationMessage` written to
// /dev/termination-log on exit 0, or a plain "Unable to ..." line on exit 1. Keys appear in Go's
// marshal order and are omitted when unset; labels are sorted; the whole message must fit in 4096
// bytes (kubelet truncates there), else it is an error with CDI's exact words.
#include "cdi/error.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cdi {

struct termination_message {
    std::optional<bool> scratch_space_required;
    std::optional<bool> preallocation_applied;
    std::optional<bool> deadline_passed;
    std::map<std::string, std::string> labels;
    std::string message;

    result<std::string> to_json() const;

    // to_json() with the labels that do not fit left out, so a finished import still reports
    // success (issue 12.8): labels are taken in key order, each kept only if the message still fits.
    // An error only when the message does not fit without any label.
    struct fitted {
        std::string json;
        std::vector<std::string> dropped_labels;  // keys, in key order
    };
    result<fitted> to_fitted_json() const;
};

// Writes text as the termination message on one line (newlines become spaces, as CDI's
// WriteTerminationMessageToFile), mode 0600, fsynced.
result<void> write_termination_file(const std::filesystem::path& path, std::string_view text);

}  // namespace cdi
