// cdi-importer: the importer pod's entry point (contract section 1). One job per process; the
// outcome is the exit status plus the termination message the controller reads (section 1.4).
#include "cdi/progress.hpp"
#include "convert/qemu_img.hpp"
#include "importer/blank_disk.hpp"
#include "importer/command_line.hpp"
#include "importer/file_source.hpp"
#include "importer/import_job.hpp"
#include "importer/importer_config.hpp"
#include "importer/signal_watcher.hpp"
#include "importer/termination_message.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <string>

namespace {

using namespace cdi;

// exit 1 with the plain-text message (contract 1.4: the controller reads it as the failure reason).
int fail(const importer_config* cfg, const std::string& text) {
    spdlog::error("{}", text);
    if (cfg) {
        if (auto r = write_termination_file(cfg->termination_log, text); !r) spdlog::error("{}", r.error().message());
    }
    return 1;
}

int succeed(const importer_config& cfg, const termination_message& msg) {
    auto json = msg.to_json();
    if (!json) return fail(&cfg, json.error().context);
    if (auto r = write_termination_file(cfg.termination_log, *json); !r) {
        spdlog::error("{}", r.error().message());
        return 1;
    }
    spdlog::info("{}", msg.message);
    return 0;
}

// file:///path or a plain absolute path (our extension for local images; the bench and quick start use it).
std::string local_path(const std::string& endpoint) {
    if (endpoint.rfind("file://", 0) == 0) return endpoint.substr(7);
    return endpoint;
}

}  // namespace

int main(int argc, char** argv) {
    cancel_token cancel;
    signal_watcher signals(cancel, std::chrono::seconds(20));
    auto cl = parse_command_line(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    setup_logging(cl);

    importer_config cfg;
    try {
        cfg = importer_config::from_env([](const char* n) { return std::getenv(n); });
    } catch (const std::exception& e) {
        importer_config fallback;
        fallback.termination_log = std::getenv("CDI_TERMINATION_LOG") ? std::getenv("CDI_TERMINATION_LOG") : "/dev/termination-log";
        return fail(&fallback, std::string("Unable to process data: invalid configuration: ") + e.what());
    }
    spdlog::info("Starting importer: source {}, content {}, target {}", cfg.source,
                 cfg.spec.content == content_type::archive ? "archive" : "kubevirt", cfg.spec.target.string());

    qemu_img qemu;
    if (cfg.source == "none") {
        auto r = create_blank_disk(cfg.spec, qemu, cancel);
        if (!r) {
            if (r.error().context.rfind("Cannot create empty disk", 0) == 0) return fail(&cfg, r.error().context);
            return fail(&cfg, "Unable to create blank image: " + r.error().message());
        }
        // Unlike CDI, a blank block volume without preallocation also gets its message (docs/compatibility.md).
        termination_message msg;
        msg.preallocation_applied = r->preallocation_applied;
        msg.message = "Import Complete";
        return succeed(cfg, msg);
    }
    if (cfg.source != "file") return fail(&cfg, "Unknown data source: " + cfg.source);

    const std::filesystem::path path = local_path(cfg.endpoint);
    auto origin = file_source::open(path);
    if (!origin) return fail(&cfg, "Unable to connect to file data source: " + origin.error().message());

    progress prog;
    import_job job(cfg.spec, qemu, prog, cancel);
    auto r = job.run(std::move(*origin), path);
    termination_message msg;
    if (!r) {
        if (r.error().is(errc::scratch_required)) {
            // CDI's wording, including "Import Complete" (contract 1.4): the controller re-creates the pod with scratch.
            msg.scratch_space_required = true;
            msg.preallocation_applied = false;
            msg.message = "Import Complete";
            return succeed(cfg, msg);
        }
        return fail(&cfg, "Unable to process data: " + r.error().message());
    }
    msg.scratch_space_required = false;
    msg.preallocation_applied = r->preallocation_applied;
    msg.message = "Import Complete";
    return succeed(cfg, msg);
}
