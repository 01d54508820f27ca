#pragma once
// What both binaries share at start-up: CDI's pods pass Go flag/klog flags (-v=N, -alsologtostderr,
// -logtostderr), and logs go to stderr as klog-style lines ("I1127 11:19:18.123456 4242] text").
#include <span>
#include <string>
#include <vector>

namespace cdi {

struct command_line {
    int verbosity = 0;                 // -v=N
    std::vector<std::string> ignored;  // arguments we do not know (logged by setup_logging)
};

// Accepts -v=N, -v N, --v=N and the klog switches (which change nothing: logs always go to stderr);
// other arguments are kept in `ignored`, as the controller may add new flags. Never throws.
command_line parse_command_line(std::span<char*> args);

// klog-style pattern on stderr; -v >= 3 turns on debug lines. Logs the ignored arguments.
void setup_logging(const command_line& cl);

}  // namespace cdi
