#include "convert/subprocess.hpp"

#include "cdi/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cdi {

namespace {

using clock_type = std::chrono::steady_clock;

// The child's whole environment: no inherited secrets, C messages (we match qemu-img's English text).
constexpr std::array<const char*, 3> child_env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};

// A partial stdout line longer than this is passed on as a line of its own (bounds memory).
constexpr std::size_t max_line = 64 * 1024;

// After the child exits, how long to keep draining pipes a straggler outside the group may hold.
constexpr std::chrono::milliseconds drain_limit{2000};

std::string errno_text(int err) {
    return std::generic_category().message(err);
}

std::string program_name(const std::string& argv0) {
    auto slash = argv0.rfind('/');
    return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

bool is_executable_file(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// The absolute program path, resolved in the parent so the child needs no allocation before exec.
result<std::string> resolve_program(const std::string& name) {
    if (name.empty()) return make_error(errc::convert_failed, "cannot run an empty command");
    if (name.find('/') != std::string::npos) {
        if (is_executable_file(name)) return name;
        return make_error(errc::convert_failed, "cannot run " + name + ": " + errno_text(errno ? errno : ENOENT));
    }
    const char* env = std::getenv("PATH");
    std::string_view path = env && *env ? env : "/usr/bin:/bin";
    while (true) {
        auto colon = path.find(':');
        std::string dir(path.substr(0, colon));
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + name;
        if (is_executable_file(candidate)) return candidate;
        if (colon == std::string_view::npos) break;
        path.remove_prefix(colon + 1);
    }
    return make_error(errc::convert_failed, "cannot run " + name + ": not found in PATH");
}

// Owns a spawned child: kills its process group and reaps it unless reaped already.
class child_process {
public:
    child_process(pid_t pid, unique_fd pidfd) noexcept : pid_(pid), pidfd_(std::move(pidfd)) {}
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
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

// Makes target a copy of fd without FD_CLOEXEC (dup2 onto itself would keep the flag).
void child_dup(int fd, int target) noexcept {
    if (fd == target) {
        (void)::fcntl(fd, F_SETFD, 0);
    } else {
        (void)::dup2(fd, target);
    }
}

// Runs in the child between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void exec_child(pid_t parent, int devnull, int out_w, int err_w, int status_w, const char* program,
                             char* const* argv, const subprocess_options& opts) noexcept {
    (void)::setpgid(0, 0);
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before the prctl

    sigset_t none;
    sigemptyset(&none);
    (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) (void)::sigaction(sig, &dfl, nullptr);
    }

    child_dup(devnull, 0);
    child_dup(out_w, 1);
    child_dup(err_w, 2);
    (void)::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

    // No core dumps: a qemu-img crashing on a hostile image must not write its memory to disk.
    const rlimit no_core{0, 0};
    int err = ::setrlimit(RLIMIT_CORE, &no_core) == 0 ? 0 : errno;
    if (err == 0 && opts.address_space_limit) {
        const rlim_t v = static_cast<rlim_t>(*opts.address_space_limit);
        const rlimit rl{v, v};
        if (::setrlimit(RLIMIT_AS, &rl) != 0) err = errno;
    }
    if (err == 0 && opts.cpu_seconds_limit) {
        const rlim_t v = static_cast<rlim_t>(*opts.cpu_seconds_limit);
        const rlimit rl{v, v + 1};
        if (::setrlimit(RLIMIT_CPU, &rl) != 0) err = errno;
    }
    if (err == 0) {
        ::execve(program, argv, const_cast<char* const*>(child_env.data()));
        err = errno;
    }
    (void)!::write(status_w, &err, sizeof err);
    ::_exit(127);
}

struct pipe_pair {
    unique_fd read_end, write_end;
};

result<pipe_pair> make_pipe(const std::string& name) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        return make_error(errc::convert_failed, "cannot run " + name + ": pipe: " + errno_text(errno));
    return pipe_pair{unique_fd(fds[0]), unique_fd(fds[1])};
}

// Splits stdout into lines on '\r' and '\n' and keeps its bounded head.
class stdout_collector {
public:
    stdout_collector(subprocess_result& r, const std::function<void(std::string_view)>& cb) : r_(r), cb_(cb) {}
    void feed(std::string_view data) {
        const std::size_t room =
            subprocess_result::stdout_limit - std::min(r_.stdout_text.size(), subprocess_result::stdout_limit);
        r_.stdout_text.append(data.substr(0, room));
        if (data.size() > room) r_.stdout_truncated = true;
        if (!cb_) return;
        for (char c : data) {
            if (c == '\r' || c == '\n') {
                flush();
            } else {
                line_.push_back(c);
                if (line_.size() >= max_line) flush();
            }
        }
    }
    void flush() {
        if (!line_.empty() && cb_) cb_(line_);
        line_.clear();
    }

private:
    subprocess_result& r_;
    const std::function<void(std::string_view)>& cb_;
    std::string line_;
};

// Keeps the last `limit` bytes of stderr.
void append_tail(std::string& s, std::string_view data, std::size_t limit) {
    s.append(data);
    if (s.size() > 2 * limit + 4096) s.erase(0, s.size() - limit);
}

}  // namespace

std::string describe_exit(int exit_status) {
    if (exit_status >= 0) return "exit status " + std::to_string(exit_status);
    const int sig = -exit_status;
    const char* abbrev = ::sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

std::string_view last_line(std::string_view text) {
    constexpr std::string_view space = " \t\r\n";
    while (!text.empty()) {
        auto end = text.find_last_not_of(space);
        if (end == std::string_view::npos) return {};
        text = text.substr(0, end + 1);
        auto start = text.find_last_of("\r\n");
        std::string_view line = start == std::string_view::npos ? text : text.substr(start + 1);
        auto first = line.find_first_not_of(space);
        if (first != std::string_view::npos) return line.substr(first);
        text = text.substr(0, start == std::string_view::npos ? 0 : start);
    }
    return {};
}

result<subprocess_result> run_subprocess(const std::vector<std::string>& argv, const subprocess_options& opts) {
    if (argv.empty()) return make_error(errc::convert_failed, "cannot run an empty command");
    const std::string name = program_name(argv[0]);
    auto program = resolve_program(argv[0]);
    if (!program) return program.error();

    auto out = make_pipe(name);
    if (!out) return out.error();
    auto err = make_pipe(name);
    if (!err) return err.error();
    auto status = make_pipe(name);
    if (!status) return status.error();
    unique_fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return make_error(errc::convert_failed, "cannot run " + name + ": /dev/null: " + errno_text(errno));

    std::vector<char*> cargv;
    cargv.reserve(argv.size() + 1);
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return make_error(errc::convert_failed, "cannot run " + name + ": fork: " + errno_text(errno));
    if (pid == 0) {
        exec_child(parent, devnull.get(), out->write_end.get(), err->write_end.get(), status->write_end.get(),
                   program->c_str(), cargv.data(), opts);
    }
    // Also set here so that a kill of the group cannot race the child's own setpgid. EACCES once the
    // child has exec'd is harmless: it did it itself.
    (void)::setpgid(pid, pid);
    // syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open does not link from C++.
    unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    child_process child(pid, std::move(pidfd));
    out->write_end.reset();
    err->write_end.reset();
    status->write_end.reset();
    devnull.reset();

    // The status pipe closes on a successful exec (CLOEXEC) or carries the child's errno.
    int child_errno = 0;
    ssize_t n;
    while ((n = ::read(status->read_end.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        return make_error(errc::convert_failed, "cannot run " + name + ": " + errno_text(child_errno));
    }
    if (child.pidfd() < 0) {
        child.kill_group();
        return make_error(errc::convert_failed, "cannot run " + name + ": pidfd_open: " + errno_text(errno));
    }

    subprocess_result res;
    stdout_collector collector(res, opts.on_stdout_line);
    std::vector<char> buf(64 * 1024);
    const auto start = clock_type::now();
    auto last_output = start;
    std::optional<clock_type::time_point> exited_at;
    bool out_open = true, err_open = true;

    while (out_open || err_open || !exited_at) {
        const auto now = clock_type::now();
        if (!exited_at) {
            if (opts.cancel && opts.cancel->canceled()) {
                child.kill_group();
                return make_error(errc::canceled, name + " canceled: killed");
            }
            if (opts.no_progress_timeout.count() > 0 && now - last_output >= opts.no_progress_timeout) {
                child.kill_group();
                return make_error(errc::timeout, name + " made no progress for " +
                                                     std::to_string(opts.no_progress_timeout.count() / 1000) +
                                                     "s: killed");
            }
            if (opts.wall_timeout.count() > 0 && now - start >= opts.wall_timeout) {
                child.kill_group();
                return make_error(errc::timeout, name + " ran longer than " +
                                                     std::to_string(opts.wall_timeout.count() / 1000) + "s: killed");
            }
        } else if (now - *exited_at >= drain_limit) {
            break;  // a process outside the group still holds a pipe; what it writes is not ours
        }

        auto wait = std::chrono::milliseconds(100);
        if (!exited_at && opts.no_progress_timeout.count() > 0) {
            wait = std::min(
                wait, std::chrono::ceil<std::chrono::milliseconds>(opts.no_progress_timeout - (now - last_output)));
        }
        std::array<pollfd, 3> fds{{{out_open ? out->read_end.get() : -1, POLLIN, 0},
                                   {err_open ? err->read_end.get() : -1, POLLIN, 0},
                                   {exited_at ? -1 : child.pidfd(), POLLIN, 0}}};
        const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<std::int64_t>(wait.count(), 1)));
        if (ready < 0) {
            if (errno == EINTR) continue;
            child.kill_group();
            return make_error(errc::convert_failed, "waiting for " + name + ": poll: " + errno_text(errno));
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[static_cast<std::size_t>(i)].revents == 0) continue;
            const int fd = fds[static_cast<std::size_t>(i)].fd;
            const ssize_t got = ::read(fd, buf.data(), buf.size());
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) {
                (i == 0 ? out_open : err_open) = false;
                continue;
            }
            last_output = clock_type::now();
            std::string_view data(buf.data(), static_cast<std::size_t>(got));
            if (i == 0) {
                collector.feed(data);
            } else {
                append_tail(res.stderr_text, data, opts.stderr_limit);
            }
        }
        if (fds[2].revents != 0) {
            // The leader exited (still unreaped): clear out anything it left running in its group.
            exited_at = clock_type::now();
            child.kill_group();
        }
    }
    collector.flush();
    if (res.stderr_text.size() > opts.stderr_limit)
        res.stderr_text.erase(0, res.stderr_text.size() - opts.stderr_limit);
    res.exit_status = child.wait();
    return res;
}

}  // namespace cdi
