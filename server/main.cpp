// cdi-uploadserver: the upload pod's entry point (contract section 6). One upload per process; the
// outcome is the exit status plus the JSON termination message the upload controller reads (6.7).
#include "importer/pod/command_line.hpp"
#include "importer/pod/last_resort.hpp"
#include "importer/pod/listener.hpp"
#include "server/upload_config.hpp"
#include "server/upload_server.hpp"
#include "server/upload_usage.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>

namespace {

int upload_server_main(int argc, char** argv) {
    using namespace cdi;
    // --help and --version are answered before anything starts (no thread, no socket, no file).
    auto cl = parse_command_line(std::span<char*>(argv, static_cast<std::size_t>(argc)));
    if (auto answered = answer_help_or_version(cl, "cdi-uploadserver", upload_usage(), std::cout)) return *answered;
    std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not a kill
    setup_logging(cl);

    upload_config cfg;
    try {
        cfg = upload_config::from_env([](const char* n) { return std::getenv(n); });
    } catch (const std::exception& e) {
        // CDI exits 255 (klog.Fatalf) on an unparsable DEADLINE; we exit 1 (docs/compatibility.md).
        spdlog::error("UploadServer failed: invalid configuration: {}", e.what());
        return 1;
    }
    // Every connection is a file descriptor: use all the pod may have (connections are capped by
    // the server itself, server/connection_slots.hpp).
    spdlog::debug("open file limit {}", raise_open_file_limit());
    last_resort::configure(cfg.termination_log, cfg.spec);
    std::unique_ptr<upload_server> server;
    try {
        server = std::make_unique<upload_server>(std::move(cfg));
    } catch (const std::exception& e) {
        spdlog::error("UploadServer failed: {}", e.what());
        return 1;
    }
    return server->run();  // what escapes the upload is the last resort's (main)
}

}  // namespace

// An exception that escapes (any thread) still ends with a reason and the partial target removed.
int main(int argc, char** argv) {
    return cdi::last_resort::run([&] { return upload_server_main(argc, argv); });
}
