#include "importer/import_outcome.hpp"

#include "cdi/unique_fd.hpp"

#include <fcntl.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cdi {

int fail(const importer_config& cfg, const std::string& text) {
    spdlog::error("{}", text);
    if (auto r = write_termination_file(cfg.termination_log, text); !r) spdlog::error("{}", r.error().message());
    return 1;
}

bool create_done_file(const importer_config& cfg) {
    if (cfg.done_file.empty()) return true;
    unique_fd fd(::open(cfg.done_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (!fd) {
        spdlog::error("cannot create the done file {}: {}", cfg.done_file.string(), std::strerror(errno));
        return false;
    }
    return true;
}

int succeed(const importer_config& cfg, const termination_message& msg) {
    // The work is done: labels that would overflow the message are dropped, not the import (issue 12.8).
    auto json = msg.to_fitted_json();
    if (!json) return fail(cfg, json.error().context);
    for (const auto& key : json->dropped_labels) {
        spdlog::warn("label {:.128} dropped: the termination message would exceed 4096 bytes", key);
    }
    if (auto r = write_termination_file(cfg.termination_log, json->json); !r) {
        spdlog::error("{}", r.error().message());
        return 1;
    }
    spdlog::info("{}", msg.message);
    return 0;
}

int checksum_mismatch(const importer_config& cfg, const error& err) {
    termination_message msg;
    msg.message = "Unable to process data: " + err.message();
    spdlog::error("{}", msg.message);
    return succeed(cfg, msg);
}

int source_unavailable(const importer_config& cfg, const error& err) {
    return fail(cfg, "Unable to connect to " + cfg.source + " data source: " + err.message());
}

int processing_failed(const importer_config& cfg, const error& err) {
    return fail(cfg, "Unable to process data: " + err.message());
}

int job_outcome(const importer_config& cfg, import_job& job, const result<job_result>& r,
                std::map<std::string, std::string> labels) {
    termination_message msg;
    if (!r) {
        if (r.error().is(errc::checksum)) {
            job.discard_output();
            return checksum_mismatch(cfg, r.error());
        }
        if (r.error().is(errc::scratch_required)) {
            // CDI's wording, including "Import Complete" (contract 1.4): the controller re-creates the pod with scratch.
            // The termination message carries no cause: the log's line names it.
            spdlog::info("Scratch space required: {}", r.error().message());
            if (!create_done_file(cfg)) return 1;
            msg.scratch_space_required = true;
            msg.preallocation_applied = false;
            msg.message = "Import Complete";
            return succeed(cfg, msg);
        }
        return processing_failed(cfg, r.error());
    }
    if (!create_done_file(cfg)) return 1;
    msg.scratch_space_required = false;
    msg.preallocation_applied = r->preallocation_applied;
    msg.labels = std::move(labels);
    msg.message = "Import Complete";
    return succeed(cfg, msg);
}

int blank_outcome(const importer_config& cfg, const result<job_result>& r) {
    if (!r) return fail(cfg, "Unable to create blank image: " + r.error().message());
    // Unlike CDI, a blank block volume without preallocation also gets its message (docs/compatibility.md).
    termination_message msg;
    msg.preallocation_applied = r->preallocation_applied;
    msg.message = "Import Complete";
    return succeed(cfg, msg);
}

}  // namespace cdi
