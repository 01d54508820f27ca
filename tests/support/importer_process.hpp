#pragma once
// cdi-importer run as CDI's controller runs it, with the pod's fixed paths moved under a test
// directory: <dir>/data (the volume), <dir>/scratch, <dir>/termination-log, no block device, no
// /proxycerts/ or /extraheaders/, the progress endpoint on a free port. The environment is emptied
// first (env -i) so only what the test gives reaches the binary.
#include "support/test_env.hpp"

#include <filesystem>
#include <map>
#include <string>

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

}  // namespace cdi::test
