// cdi-importer: the importer pod's entry point (contract section 1). One job per process; the
// outcome is the exit status plus the termination message the controller reads (section 1.4).
#include "cdi/progress.hpp"
#include "convert/qemu_img.hpp"
#include "importer/import_outcome.hpp"
#include "importer/importer_config.hpp"
#include "importer/importer_usage.hpp"
#include "importer/job/blank_disk.hpp"
#include "importer/job/import_job.hpp"
#include "importer/metrics/metrics_server.hpp"
#include "importer/metrics/progress_logger.hpp"
#include "importer/node_pull.hpp"
#include "importer/origin.hpp"
#include "importer/pod/command_line.hpp"
#include "importer/pod/last_resort.hpp"
#include "importer/pod/signal_watcher.hpp"
#include "importer/registry/registry_pull.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>
#include <string>

extern char** environ;

namespace {

using namespace cdi;

// Runs the job on an opened origin and writes the outcome (contract 1.4).
int run_job(const importer_config& cfg, progress& prog, const cancel_token& cancel, origin o,
            std::map<std::string, std::string> labels) {
    qemu_img qemu;
    progress_logger logger(prog, std::chrono::seconds(5));
    import_job job(cfg.spec, qemu, prog, cancel);
    job.reread_origin_with(o.reread.get());
    auto r = job.run(std::move(o.src), o.local_path);
    // A tar reader stops at the archive's end marker: read the rest so the checksum covers every byte.
    if (r && o.checksum && !o.checksum->verified()) {
        if (auto v = o.checksum->drain_and_verify(); !v) {
            r = error{v.error().code, "Unable to transfer source data to target directory: " + v.error().context};
        }
    }
    if (cfg.pull_method == "node") labels = std::move(o.node_labels);
    return job_outcome(cfg, job, r, std::move(labels));
}

int run_import(const importer_config& cfg, progress& prog, const cancel_token& cancel) {
    std::string endpoint = cfg.endpoint;
    if (cfg.source == "http" && cfg.pull_method == "node") {
        // CDI waits for the sidecar's ready file before building the data source; a timeout is
        // written in CDI's own words (contract 1.3 step 7, importer/node_pull.hpp).
        auto ep = await_ready_file(cfg, cancel);
        if (!ep) return fail(cfg, ep.error().context);
        endpoint = std::move(*ep);
    }
    auto o = open_origin(cfg, endpoint, cancel);
    if (!o) return source_unavailable(cfg, o.error());
    return run_job(cfg, prog, cancel, std::move(*o), {});
}

// A containerdisk pulled by this pod (contract section 5); the node pull method arrives as http.
int run_registry(const importer_config& cfg, progress& prog, const cancel_token& cancel) {
    if (cfg.spec.content != content_type::kubevirt) {
        // CDI exits 1 here without a message; the reason is worth a message.
        return processing_failed(cfg, make_error(errc::bad_request, "registry imports need content type kubevirt, not archive"));
    }
    auto pull = registry_pull::open(cfg.endpoint, cfg.http, cfg.registry_architecture, cancel);
    if (!pull) return processing_failed(cfg, pull.error());
    origin o;
    o.src = (*pull)->take_disk();
    return run_job(cfg, prog, cancel, std::move(o), (*pull)->labels());
}

int run_blank(const importer_config& cfg, const cancel_token& cancel) {
    // CDI's refusal, in its own words, before anything is made (contract 1.4).
    if (auto refused = blank_disk_refusal(cfg.spec)) return fail(cfg, *refused);
    qemu_img qemu;
    return blank_outcome(cfg, create_blank_disk(cfg.spec, qemu, cancel));
}

std::vector<std::string> environment() {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) out.emplace_back(*e);
    return out;
}

int importer_main(int argc, char** argv) {
    // --help and --version are answered before anything starts (no thread, no socket, no file).
    auto cl = parse_command_line(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    if (auto answered = answer_help_or_version(cl, "cdi-importer", importer_usage(), std::cout)) return *answered;
    cancel_token cancel;
    signal_watcher signals(cancel, std::chrono::seconds(20));
    setup_logging(cl);

    importer_config cfg;
    try {
        cfg = importer_config::from_env([](const char* n) { return std::getenv(n); }, environment());
    } catch (const std::exception& e) {
        importer_config fallback;
        fallback.termination_log = std::getenv("CDI_TERMINATION_LOG") ? std::getenv("CDI_TERMINATION_LOG") : "/dev/termination-log";
        return processing_failed(fallback, make_error(errc::bad_request, std::string("invalid configuration: ") + e.what()));
    }
    last_resort::configure(cfg.termination_log, cfg.spec);

    // The progress endpoint starts first, as CDI's (contract 1.3); failing to listen does not stop the import.
    progress prog;
    metrics_server metrics(std::string(import_progress_metric), cfg.owner_uid, [&prog] { return prog.percent(); },
                           metrics_server_options{.address = cfg.metrics_address, .port = cfg.metrics_port});
    if (auto m = metrics.start(); !m) spdlog::warn("progress endpoint not started: {}", m.error().message());

    spdlog::info("Starting importer: source {}, content {}, target {}", cfg.source,
                 cfg.spec.content == content_type::archive ? "archive" : "kubevirt", cfg.spec.target.string());
    if (cfg.source == "none") return run_blank(cfg, cancel);
    if (cfg.source == "file" || cfg.source == "http" || cfg.source == "s3" || cfg.source == "gcs") return run_import(cfg, prog, cancel);
    if (cfg.source == "registry") return run_registry(cfg, prog, cancel);
    if (auto refused = unsupported_source(cfg.source)) return source_unavailable(cfg, *refused);
    return fail(cfg, "Unknown data source: " + cfg.source);
}

}  // namespace

int main(int argc, char** argv) {
    return cdi::last_resort::run([&] { return importer_main(argc, argv); });
}
