// cdi-cloner: the source pod of a host-assisted clone (contract 6.8). CDI's controller runs the image
// with no command or arguments: the environment says everything (cloner/cloner_config). Exit 0 with
// the plain-text termination message "Clone Complete[, Preallocation applied]" once the upload
// server answered 2xx; otherwise exit 1 with the reason in the log and the termination message (the
// kubelet reruns the pod).
#include "cloner/clone_run.hpp"
#include "cloner/cloner_config.hpp"
#include "importer/metrics/metrics_server.hpp"
#include "importer/pod/command_line.hpp"
#include "importer/pod/last_resort.hpp"
#include "importer/pod/termination_message.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

namespace {

using namespace cdi;

int fail(const std::filesystem::path& termination_log, const std::string& reason) {
    spdlog::error("{}", reason);
    if (auto w = write_termination_file(termination_log, reason); !w) spdlog::error("{}", w.error().message());
    return 1;
}

int cloner_main(int argc, char** argv) {
    auto cl = parse_command_line(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    if (auto answered = answer_help_or_version(cl, "cdi-cloner", cloner_usage(), std::cout)) return *answered;
    setup_logging(cl);

    cloner_config cfg;
    try {
        cfg = cloner_config::from_env([](const char* n) { return std::getenv(n); });
    } catch (const std::exception& e) {
        const char* log = std::getenv("CDI_TERMINATION_LOG");
        return fail(log && *log ? log : "/dev/termination-log",
                    "Unable to clone: E_BAD_REQUEST: invalid configuration: " + std::string(e.what()));
    }

    // The progress endpoint first, as CDI's; failing to listen does not stop the clone.
    clone_progress progress;
    metrics_server metrics(std::string(clone_progress_metric), cfg.owner_uid, [&progress] { return progress.percent(); },
                           metrics_server_options{.address = cfg.metrics_address, .port = cfg.metrics_port});
    if (auto m = metrics.start(); !m) spdlog::warn("progress endpoint not started: {}", m.error().message());

    if (auto r = run_clone(cfg, progress); !r) return fail(cfg.termination_log, "Unable to clone: " + r.error().message());
    const std::string message = clone_complete_message(cfg.preallocation);
    if (auto w = write_termination_file(cfg.termination_log, message); !w) {
        spdlog::error("{}", w.error().message());
        return 1;
    }
    spdlog::info("{}", message);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return cdi::last_resort::run([&] { return cloner_main(argc, argv); });
}
