#pragma once
// What both binaries share at start-up: CDI's pods pass Go flag/klog flags (-v=N, -alsologtostderr,
// -logtostderr), and logs go to stderr as klog-style lines ("I1127 11:19:18.123456 4242] text").
// A person at a shell may also ask -h/--help or --version: answered on stdout before anything starts.
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cdi {

struct command_line {
    enum class request { run, help, version };
    request what = request::run;       // -h/--help wins over --version, wherever they stand
    int verbosity = 0;                 // -v=N
    std::vector<std::string> ignored;  // arguments we do not know (logged by setup_logging)
};

// Accepts -v=N, -v N, --v=N and the klog switches (which change nothing: logs always go to stderr),
// with any number of leading dashes as Go's flag package does; -h, -help, --help and -version,
// --version (without "=value") ask for the usage text and the version. Other arguments are kept in
// `ignored`, as the controller may add new flags. Pure; never throws.
command_line parse_command_line(std::span<char*> args);

// The "Usage:" lines and the flags parse_command_line understands, as program's --help shows them
// (both binaries take the same flags: one text).
std::string command_line_usage(std::string_view program);

// --help: `usage` on out; --version: "<program> <version> (commit <hash>)" on out (importer/pod/version).
// Returns the exit status (0) when the request was answered, nullopt when the binary should run.
std::optional<int> answer_help_or_version(const command_line& cl, std::string_view program, std::string_view usage,
                                          std::ostream& out);

// klog-style pattern on stderr; -v >= 3 turns on debug lines. Logs the ignored arguments.
void setup_logging(const command_line& cl);

}  // namespace cdi
