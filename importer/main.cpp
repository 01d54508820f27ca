// cdi-importer: the importer pod's entry point (contract section 1). One job per process; the
// outcome is the exit status plus the termination message the controller reads (section 1.4).
#include "cdi/progress.hpp"
#include "convert/qemu_img.hpp"
#include "importer/job/blank_disk.hpp"
#include "importer/stages/checksum.hpp"
#include "importer/stages/checksum_source.hpp"
#include "importer/pod/command_line.hpp"
#include "importer/stages/file_source.hpp"
#include "importer/http/http_source.hpp"
#include "importer/http/http_url.hpp"
#include "importer/job/import_job.hpp"
#include "importer/import_outcome.hpp"
#include "importer/importer_config.hpp"
#include "importer/pod/last_resort.hpp"
#include "importer/metrics/metrics_server.hpp"
#include "importer/node_pull.hpp"
#include "importer/stages/peek_source.hpp"
#include "importer/metrics/progress_logger.hpp"
#include "importer/registry/registry_pull.hpp"
#include "importer/pod/signal_watcher.hpp"
#include "importer/pod/termination_message.hpp"
#include "importer/importer_usage.hpp"


#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cctype>
#include <exception>
#include <iostream>
#include <string>

extern char** environ;

namespace {

using namespace cdi;
namespace fs = std::filesystem;

// file:///path or a plain absolute path (our extension for local images; the bench and quick start use it).
std::string local_path(const std::string& endpoint) {
    if (endpoint.rfind("file://", 0) == 0) return endpoint.substr(7);
    return endpoint;
}

// An HTML page where a disk image was expected (a login or error page served with 200): refused
// rather than written as a "raw disk". Only with Content-Type text/html and markup in the first bytes.
bool looks_like_html(std::span<const std::byte> head) {
    std::string text;
    for (auto b : head.first(std::min<std::size_t>(head.size(), 64))) {
        text += static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
    }
    auto start = text.find_first_not_of(" \t\r\n\xef\xbb\xbf");
    if (start == std::string::npos) return false;
    return text.compare(start, 14, "<!doctype html") == 0 || text.compare(start, 5, "<html") == 0;
}

struct origin {
    source_ptr src;
    std::optional<fs::path> local_path;
    checksum_source* checksum = nullptr;  // owned by src's chain; alive while the job holds it
    std::map<std::string, std::string> node_labels;  // node pull: from the sidecar's /info, read first
};

// Builds the data source; errors become CDI's "Unable to connect to <ds> data source: …".
result<origin> open_origin(const importer_config& cfg, std::string& endpoint, const cancel_token& cancel) {
    origin o;
    if (cfg.source == "file") {
        o.local_path = local_path(endpoint);
        auto f = file_source::open(*o.local_path);
        if (!f) return f.error();
        o.src = std::move(*f);
        return o;
    }
    // http: the checksum is parsed before anything is fetched (CDI: a bad one fails construction).
    auto sum = checksum_spec::parse(cfg.pull_method == "node" ? std::string() : cfg.checksum);
    if (!sum) return sum.error();
    if (cfg.pull_method == "node") {
        auto ep = await_ready_file(cfg, cancel);
        if (!ep) return ep.error();
        endpoint = *ep;
    }
    // A URL that does not parse is never echoed (it may hold a password): the variable is named instead.
    if (auto u = http_url::parse(endpoint); !u) return error{u.error().code, "IMPORTER_ENDPOINT: " + u.error().context};
    if (cfg.pull_method == "node") {
        // /info before the disk: an unusable one fails here, not after the disk is written (issue 19.5).
        auto labels = fetch_node_labels(cfg, endpoint, cancel);
        if (!labels) return error{labels.error().code, "cannot read the image's labels: " + labels.error().context};
        o.node_labels = std::move(*labels);
    }
    auto http = http_source::open(endpoint, cfg.pull_method == "node" ? sidecar_http_options(cfg.http) : cfg.http, cancel);
    if (!http) return http.error();
    const auto& type = (*http)->content_type();
    if (cfg.spec.content == content_type::kubevirt && type.rfind("text/", 0) == 0) {
        spdlog::warn("{} is served as {}; importing it as a disk image anyway", (*http)->final_url(), type);
    }
    const bool html = type.rfind("text/html", 0) == 0;
    const std::string url = (*http)->final_url();
    o.src = std::move(*http);
    if (*sum) {
        auto checked = checksum_source::create(std::move(o.src), **sum);
        if (!checked) return checked.error();
        o.checksum = checked->get();
        o.src = std::move(*checked);
    }
    if (html && cfg.spec.content == content_type::kubevirt) {
        auto peeked = peek_source::make(std::move(o.src), 512);
        if (!peeked) return peeked.error();
        if (looks_like_html((*peeked)->head()))
            return make_error(errc::format_mismatch, url + " answered with an HTML page (Content-Type " + type + "), not a disk image");
        o.src = std::move(*peeked);
    }
    return o;
}

// Runs the job on an opened origin and writes the outcome (contract 1.4).
int run_job(const importer_config& cfg, progress& prog, const cancel_token& cancel, origin o,
            std::map<std::string, std::string> labels) {
    qemu_img qemu;
    progress_logger logger(prog, std::chrono::seconds(5));
    import_job job(cfg.spec, qemu, prog, cancel);
    auto r = job.run(std::move(o.src), o.local_path);
    // A tar reader stops at the archive's end marker: read the rest so the checksum covers every byte.
    if (r && o.checksum && !o.checksum->verified()) {
        if (auto v = o.checksum->drain_and_verify(); !v) {
            r = error{v.error().code, "Unable to transfer source data to target directory: " + v.error().context};
        }
    }
    termination_message msg;
    if (!r) {
        if (r.error().is(errc::checksum)) {
            job.discard_output();
            return checksum_mismatch(cfg, r.error());
        }
        if (r.error().is(errc::scratch_required)) {
            // CDI's wording, including "Import Complete" (contract 1.4): the controller re-creates the pod with scratch.
            if (!create_done_file(cfg)) return 1;
            msg.scratch_space_required = true;
            msg.preallocation_applied = false;
            msg.message = "Import Complete";
            return succeed(cfg, msg);
        }
        return fail(cfg, "Unable to process data: " + r.error().message());
    }
    if (cfg.pull_method == "node") labels = std::move(o.node_labels);
    if (!create_done_file(cfg)) return 1;
    msg.scratch_space_required = false;
    msg.preallocation_applied = r->preallocation_applied;
    msg.labels = std::move(labels);
    msg.message = "Import Complete";
    return succeed(cfg, msg);
}

int run_import(const importer_config& cfg, progress& prog, const cancel_token& cancel) {
    std::string endpoint = cfg.endpoint;
    auto o = open_origin(cfg, endpoint, cancel);
    if (!o) {
        if (o.error().is(errc::timeout) && o.error().context.rfind("Timeout waiting for file", 0) == 0)
            return fail(cfg, o.error().context);
        return fail(cfg, "Unable to connect to " + cfg.source + " data source: " + o.error().message());
    }
    return run_job(cfg, prog, cancel, std::move(*o), {});
}

// A containerdisk pulled by this pod (contract section 5); the node pull method arrives as http.
int run_registry(const importer_config& cfg, progress& prog, const cancel_token& cancel) {
    if (cfg.spec.content != content_type::kubevirt) {
        // CDI exits 1 here without a message; the reason is worth a message.
        return fail(cfg, "Unable to process data: E_BAD_REQUEST: registry imports need content type kubevirt, not archive");
    }
    auto pull = registry_pull::open(cfg.endpoint, cfg.http, cfg.registry_architecture, cancel);
    if (!pull) return fail(cfg, "Unable to process data: " + pull.error().message());
    origin o;
    o.src = (*pull)->take_disk();
    return run_job(cfg, prog, cancel, std::move(o), (*pull)->labels());
}

int run_blank(const importer_config& cfg, const cancel_token& cancel) {
    qemu_img qemu;
    auto r = create_blank_disk(cfg.spec, qemu, cancel);
    if (!r) {
        if (r.error().context.rfind("Cannot create empty disk", 0) == 0) return fail(cfg, r.error().context);
        return fail(cfg, "Unable to create blank image: " + r.error().message());
    }
    // Unlike CDI, a blank block volume without preallocation also gets its message (docs/compatibility.md).
    termination_message msg;
    msg.preallocation_applied = r->preallocation_applied;
    msg.message = "Import Complete";
    return succeed(cfg, msg);
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
        return fail(fallback, std::string("Unable to process data: E_BAD_REQUEST: invalid configuration: ") + e.what());
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
    if (cfg.source == "file" || cfg.source == "http") return run_import(cfg, prog, cancel);
    if (cfg.source == "registry") return run_registry(cfg, prog, cancel);
    return fail(cfg, "Unknown data source: " + cfg.source);
}

}  // namespace

int main(int argc, char** argv) {
    return cdi::last_resort::run([&] { return importer_main(argc, argv); });
}
