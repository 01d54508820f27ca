#pragma once
// cdi-importer run as CDI's controller runs it, with the pod's fixed paths moved under a test
// directory: <dir>/data (the volume), <dir>/scratch, <dir>/termination-log, no block device, no
// /proxycerts/ or /extraheaders/, the progress endpoint on a free port. The environment is emptied
// first (env -i) so only what the test gives reaches the binary.
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

// The shell command; env's entries win over the path overrides.
inline std::string importer_command(const std::filesystem::path& dir, std::map<std::string, std::string> env) {
    auto q = [](const std::string& s) { return "'" + s + "'"; };
    env.emplace("CDI_DATA_DIR", (dir / "data").string());
    env.emplace("CDI_SCRATCH_DIR", (dir / "scratch").string());
    env.emplace("CDI_BLOCK_DEVICE", (dir / "no-block").string());
    env.emplace("CDI_TERMINATION_LOG", (dir / "termination-log").string());
    env.emplace("CDI_PROXY_CERT_DIR", (dir / "no-proxycerts").string());
    env.emplace("CDI_EXTRA_HEADERS_DIR", (dir / "no-extraheaders").string());
    env.emplace("CDI_METRICS_PORT", "0");
    std::string cmd = "env -i PATH=\"$PATH\"";
    for (const auto& [k, v] : env) cmd += " " + k + "=" + q(v);
    return cmd + " " CDI_BINARY_DIR "/importer/cdi-importer -v=3 -alsologtostderr";
}

// Runs it to the end; the termination log of an earlier run is removed first.
inline importer_outcome run_importer(const std::filesystem::path& dir, std::map<std::string, std::string> env) {
    std::filesystem::remove(dir / "termination-log");
    auto r = run_command(importer_command(dir, std::move(env)));
    auto msg = read_file(dir / "termination-log");
    return {r.status, std::string(msg.begin(), msg.end()), r.output};
}

// Starts the import in the background (its output in <dir>/importer.log), scrapes the progress
// endpoint every 200 ms over HTTPS with the controller's regex (contract 7) until it stops answering,
// then waits for the termination log. Returns the values seen, in order; empty if the endpoint's
// port never appeared in the log.
inline std::vector<double> import_while_scraping_progress(const std::filesystem::path& dir,
                                                          std::map<std::string, std::string> env) {
    const auto log = dir / "importer.log";
    const std::string owner = env.count("OWNER_UID") ? env["OWNER_UID"] : "";
    std::filesystem::remove(dir / "termination-log");
    // Never in the pipe run_command reads to its end: the importer's output goes to a file.
    must_run(importer_command(dir, std::move(env)) + " > /dev/null 2> '" + log.string() + "' &");
    const std::regex port_re("metrics endpoint listening on port (\\d+)");
    std::string port;
    for (int i = 0; i < 100 && port.empty(); ++i) {
        const auto bytes = read_file(log);
        const std::string text(bytes.begin(), bytes.end());
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
    // The termination message is the importer's last act.
    for (int i = 0; i < 300 && !std::filesystem::exists(dir / "termination-log"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return samples;
}

}  // namespace cdi::test
