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

}  // namespace cdi
