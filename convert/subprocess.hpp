#pragma once
// Runs one helper program (qemu-img) to completion with the hygiene of security.md 2.9:
// - no shell: argv[0] is resolved against $PATH in the parent, then execve'd with a fixed environment
//   (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LC_ALL=C so messages match what we parse);
// - the child leads a new process group, gets PR_SET_PDEATHSIG(SIGKILL), stdin /dev/null, every fd
//   above 2 closed on exec, RLIMIT_CORE 0 and the requested rlimits set before exec;
// - stdout and stderr are read concurrently; stdout is split into lines on '\r' and '\n' (qemu-img -p
//   ends its progress updates with '\r'), stderr keeps a bounded tail;
// - on a timeout or cancellation, and after the child exits, the whole group is SIGKILLed, so no
//   grandchild survives; the child is always reaped (also when the caller's thread unwinds).
// Requirements: SIGCHLD must not be SIG_IGN in the process (children would be auto-reaped and their
// status lost). PR_SET_PDEATHSIG fires when the *thread* that spawned the child exits; run_subprocess
// blocks that thread until the child is reaped, so this only matters if the whole process dies.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdi {

struct subprocess_options {
    std::optional<std::uint64_t> address_space_limit;  // RLIMIT_AS in bytes, set in the child before exec
    std::optional<std::uint64_t> cpu_seconds_limit;    // RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later
    // 0 = none. Killed (errc::timeout) when neither stdout nor stderr produced a byte for this long.
    std::chrono::milliseconds no_progress_timeout{0};
    // 0 = none. Killed (errc::timeout) when still running after this long.
    std::chrono::milliseconds wall_timeout{0};
    // Called on the caller's thread for each stdout line, without its terminator; empty lines skipped.
    std::function<void(std::string_view line)> on_stdout_line;
    std::size_t stderr_limit = 64 * 1024;  // stderr capture keeps the last stderr_limit bytes
    const cancel_token* cancel = nullptr;  // polled every 100 ms; kills the group -> errc::canceled
};

struct subprocess_result {
    int exit_status = 0;      // exit code, or -signal when the child was killed by a signal
    std::string stdout_text;  // the first stdout_limit bytes of stdout
    std::string stderr_text;  // the last stderr_limit bytes of stderr
    bool stdout_truncated = false;

    static constexpr std::size_t stdout_limit = 1024 * 1024;
};

// Runs argv to completion. A non-zero exit is not an error here: the result carries it. Errors:
// errc::convert_failed "cannot run X: ..." (not found, exec failed, no pipes), errc::timeout
// "X made no progress for 10s: killed" / "X ran longer than 30s: killed", errc::canceled.
result<subprocess_result> run_subprocess(const std::vector<std::string>& argv, const subprocess_options& opts);

// "exit status 1" / "killed by signal 11" for an exit_status.
std::string describe_exit(int exit_status);

// The last non-empty line of text (stderr's most useful line), trimmed.
std::string_view last_line(std::string_view text);

}  // namespace cdi
