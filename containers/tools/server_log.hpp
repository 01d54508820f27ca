#pragma once
// One-line logs of cdi-containerimage-server on stderr: a single write(2) per line, so lines from
// connection threads never interleave, and nothing buffered is lost when the process _exits.
#include <unistd.h>

#include <string>
#include <string_view>

namespace cdi {

inline void server_log(std::string_view text) {
    std::string line = "cdi-containerimage-server: ";
    line += text;
    line += '\n';
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace cdi
