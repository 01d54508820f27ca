#pragma once
// The command line of cdi-containerimage-server as CDI's import controller writes it (contract 1.7):
//   server -p 8100 -image-dir /disk -ready-file /shared/ready -done-file /shared/done
// Go `flag` syntax: one or two leading dashes, the value as the next argument or after '='.
// Defaults are the Go tool's: -p 8100, -image-dir ".", -ready-file /shared/ready,
// -done-file /shared/done. -p 0 binds an ephemeral port (tests read it from the log line).
#include <optional>
#include <string>

namespace cdi {

struct server_options {
    int port = 8100;
    std::string image_dir = ".";
    std::string ready_file = "/shared/ready";
    std::string done_file = "/shared/done";
};

// nullopt with `why` set (one line) on an unknown flag, a missing value or a port outside 0..65535.
std::optional<server_options> parse_server_options(int argc, char** argv, std::string& why);

}  // namespace cdi
