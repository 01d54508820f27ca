#pragma once
// cdi-importer run as CDI's controller runs it, with the pod's fixed paths moved under a test
// directory: <dir>/data (the volume), <dir>/scratch, <dir>/termination-log, no block device, no
// /proxycerts/ or /extraheaders/, the progress endpoint on a free port. Only what the test gives
// reaches the binary, and the test's PATH (child_process.hpp).
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

struct importer_outcome {
    int status;
    std::string message;  // the termination log
    std::string log;      // stdout and stderr
};

// The environment: the path overrides under dir, env's entries winning over them.
inline std::map<std::string, std::string> importer_env(const std::filesystem::path& dir,
                                                       std::map<std::string, std::string> env) {
    env.emplace("CDI_DATA_DIR", (dir / "data").string());
    env.emplace("CDI_SCRATCH_DIR", (dir / "scratch").string());
    env.emplace("CDI_BLOCK_DEVICE", (dir / "no-block").string());
    env.emplace("CDI_TERMINATION_LOG", (dir / "termination-log").string());
    env.emplace("CDI_PROXY_CERT_DIR", (dir / "no-proxycerts").string());
    env.emplace("CDI_EXTRA_HEADERS_DIR", (dir / "no-extraheaders").string());
    env.emplace("CDI_METRICS_PORT", "0");
    return env;
}

// Starts it, its stdout and stderr in <dir>/importer.log; the termination log of an earlier run is
// removed first. Killed and reaped when the returned child goes out of scope still running.
inline child_process start_importer(const std::filesystem::path& dir, std::map<std::string, std::string> env) {
    std::filesystem::remove(dir / "termination-log");
    return child_process({CDI_BINARY_DIR "/importer/cdi-importer", "-v=3", "-alsologtostderr"},
                         importer_env(dir, std::move(env)), dir / "importer.log");
}

// Runs it to the end (at most ten minutes).
inline importer_outcome run_importer(const std::filesystem::path& dir, std::map<std::string, std::string> env) {
    auto importer = start_importer(dir, std::move(env));
    const int status = importer.wait(std::chrono::minutes(10));
    return {status, slurp(dir / "termination-log"), importer.log()};
}

// Starts the import in the background (its output in <dir>/importer.log), scrapes the progress
// endpoint every 200 ms over HTTPS with the controller's regex (contract 7) until it stops answering,
// then waits (30 s at most) for the exit, which follows the termination message. Returns the values seen, in order; empty if the endpoint's
// port never appeared in the log.
inline std::vector<double> import_while_scraping_progress(const std::filesystem::path& dir,
                                                          std::map<std::string, std::string> env) {
    const std::string owner = env.count("OWNER_UID") ? env["OWNER_UID"] : "";
    auto importer = start_importer(dir, std::move(env));
    const std::regex port_re("metrics endpoint listening on port (\\d+)");
    std::string port;
    for (int i = 0; i < 100 && port.empty(); ++i) {
        const std::string text = importer.log();
        std::smatch m;
        if (std::regex_search(text, m, port_re)) port = m[1];
        else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<double> samples;
    if (port.empty()) return samples;
    const std::regex sample("(kubevirt_cdi_import_progress_total)\\{ownerUID=\"" + owner + "\"\\} (\\d{1,3}\\.?\\d*)");
    for (int i = 0; i < 60; ++i) {
        auto r = run_command("curl -sk --max-time 2 https://127.0.0.1:" + port + "/metrics");
        std::smatch m;
        if (r.status != 0 || !std::regex_search(r.output, m, sample)) break;  // the importer finished
        samples.push_back(std::stod(m[2]));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    (void)importer.wait(std::chrono::seconds(30));  // it writes the termination message, then exits
    return samples;
}

}  // namespace cdi::test
