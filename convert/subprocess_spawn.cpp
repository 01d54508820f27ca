#include "convert/subprocess_spawn.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string_view>

namespace cdi::subprocess_detail {

namespace {

// The child's whole environment: no inherited secrets, C messages (we match qemu-img's English text).
constexpr std::array<const char*, 3> child_env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};

std::string errno_text(int err) {
    return std::generic_category().message(err);
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

// The pipes a child is started with (stdout, stderr, exec status) and /dev/null for its stdin. The
// child gets the write ends and /dev/null; the parent keeps the read ends.
struct child_pipes {
    pipe_pair out, err, status;
    unique_fd devnull;
};

result<child_pipes> open_child_pipes(const std::string& name) {
    auto out = make_pipe(name);
    if (!out) return out.error();
    auto err = make_pipe(name);
    if (!err) return err.error();
    auto status = make_pipe(name);
    if (!status) return status.error();
    unique_fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) return make_error(errc::convert_failed, "cannot run " + name + ": /dev/null: " + errno_text(errno));
    return child_pipes{std::move(*out), std::move(*err), std::move(*status), std::move(devnull)};
}

// argv as execve takes it, built before fork (the child must not allocate); points into argv.
std::vector<char*> exec_argv(const std::vector<std::string>& argv) {
    std::vector<char*> cargv;
    cargv.reserve(argv.size() + 1);
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    return cargv;
}

// The status pipe closes on a successful exec (CLOEXEC) or carries the errno the child failed with.
result<void> await_exec(int status_fd, const std::string& name) {
    int child_errno = 0;
    ssize_t n;
    while ((n = ::read(status_fd, &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        return make_error(errc::convert_failed, "cannot run " + name + ": " + errno_text(child_errno));
    }
    return {};
}

}  // namespace

result<started_child> spawn(const std::vector<std::string>& argv, const std::string& name,
                            const subprocess_options& opts) {
    auto program = resolve_program(argv[0]);
    if (!program) return program.error();
    auto pipes = open_child_pipes(name);
    if (!pipes) return pipes.error();
    const std::vector<char*> cargv = exec_argv(argv);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return make_error(errc::convert_failed, "cannot run " + name + ": fork: " + errno_text(errno));
    if (pid == 0) {
        exec_child(parent, pipes->devnull.get(), pipes->out.write_end.get(), pipes->err.write_end.get(),
                   pipes->status.write_end.get(), program->c_str(), cargv.data(), opts);
    }
    // Also set here so that a kill of the group cannot race the child's own setpgid. EACCES once the
    // child has exec'd is harmless: it did it itself.
    (void)::setpgid(pid, pid);
    // syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open does not link from C++.
    unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    const int pidfd_errno = errno;
    child_process child(pid, std::move(pidfd));
    // The child has its copies: the parent's would keep the pipes open after the child exits.
    pipes->out.write_end.reset();
    pipes->err.write_end.reset();
    pipes->status.write_end.reset();
    pipes->devnull.reset();

    if (auto exec = await_exec(pipes->status.read_end.get(), name); !exec) return exec.error();
    if (child.pidfd() < 0) {
        child.kill_group();
        return make_error(errc::convert_failed, "cannot run " + name + ": pidfd_open: " + errno_text(pidfd_errno));
    }
    return started_child{std::move(child), std::move(pipes->out.read_end), std::move(pipes->err.read_end)};
}

}  // namespace cdi::subprocess_detail
