#pragma once
// The spawning half of run_subprocess (subprocess.hpp; the watch loop is in subprocess.cpp): the
// program resolved against $PATH in the parent, fork and exec with the child's hygiene (new process
// group, PR_SET_PDEATHSIG, stdin /dev/null, no descriptor above 2, the fixed environment, RLIMIT_CORE 0
// and the requested rlimits), and the owner that kills and reaps the child. Internal to convert/.
#include "cdi/error.hpp"
#include "cdi/unique_fd.hpp"
#include "convert/subprocess.hpp"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

namespace cdi::subprocess_detail {

// Owns a spawned child: kills its process group and reaps it unless reaped already.
class child_process {
public:
    child_process(pid_t pid, unique_fd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
    child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    child_process& operator=(child_process&&) = delete;
    ~child_process() {
        if (pid_ > 0) {
            kill_group();
            (void)wait();
        }
    }

    int pidfd() const noexcept { return pidfd_.get(); }

    // SIGKILL to every member of the group. Safe while the leader is unreaped: its pid, hence the
    // group id, cannot be reused before waitpid.
    void kill_group() const noexcept {
        if (pid_ > 0) (void)::kill(-pid_, SIGKILL);
    }

    // Reaps the child; its exit code, or -signal.
    int wait() noexcept {
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        if (WIFSIGNALED(st)) return -WTERMSIG(st);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }

private:
    pid_t pid_;
    unique_fd pidfd_;
};

// A running child as the parent holds it: the process (its group killed and the child reaped on
// destruction) and the read ends of its stdout and stderr.
struct started_child {
    child_process process;
    unique_fd out, err;
};

// Starts argv (argv[0] resolved against $PATH here, name used in errors) in a new process group with
// the limits of opts; returns once it has exec'd. Errors are errc::convert_failed "cannot run <name>:
// ..."; a child already forked by then is killed and reaped.
result<started_child> spawn(const std::vector<std::string>& argv, const std::string& name,
                            const subprocess_options& opts);

}  // namespace cdi::subprocess_detail
