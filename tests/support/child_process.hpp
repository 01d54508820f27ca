#pragma once
// A process run as a child of the test: argv and an environment in, its output in a log file,
// the port it says it listens on, its exit status and peak RSS out. The one fixture behind the
// importer (importer_process.hpp), the upload server (upload_server_fixture.hpp), the container
// image server (containers/image_server_fixture.hpp) and the peers tests start (nginx.hpp,
// docker_registry.hpp, faulty_mount.hpp).
#include "support/test_env.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

struct child_options {
    // The child's environment is exactly the given one, plus the test's PATH unless it names PATH.
    bool inherit_path = true;
    // stdout to the log as well as stderr; otherwise stdout is the test's own.
    bool stdout_to_log = true;
};

// One child: started by the constructor (started() is false when posix_spawn failed), the log
// truncated first. SIGKILLed and reaped on destruction if still running.
class child_process {
public:
    child_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const std::filesystem::path& log, child_options opts = {})
        : log_(log) {
        std::vector<std::string> args = argv, vars;
        if (const char* path = std::getenv("PATH"); opts.inherit_path && path && !env.count("PATH"))
            vars.push_back(std::string("PATH=") + path);
        for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
        std::vector<char*> argp, envp;
        for (auto& s : args) argp.push_back(s.data());
        for (auto& s : vars) envp.push_back(s.data());
        argp.push_back(nullptr);
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (opts.stdout_to_log) posix_spawn_file_actions_adddup2(&fa, 2, 1);
        // A bare name ("nginx") is looked up on the test's PATH; a path is run as given.
        const bool bare = args.at(0).find('/') == std::string::npos;
        const int rc = bare ? posix_spawnp(&pid_, args[0].c_str(), &fa, nullptr, argp.data(), envp.data())
                            : posix_spawn(&pid_, args[0].c_str(), &fa, nullptr, argp.data(), envp.data());
        if (rc != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    bool started() const { return pid_ > 0; }
    bool running() { return started() && wait(std::chrono::milliseconds(0)) < 0; }

    // SIGTERM, then SIGKILL if it is still running after `grace`; reaped either way.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
        if (!running()) return;
        ::kill(pid_, SIGTERM);
        if (wait(grace) >= 0) return;
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds(30));
    }
    pid_t pid() const { return pid_; }
    void signal(int signo) { ::kill(pid_, signo); }

    // The exit status (128 + signal when killed) once the child ended within timeout; -1 otherwise.
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (status_) return *status_;
            if (pid_ <= 0) return -1;
            int st = 0;
            struct rusage ru {};
            if (::wait4(pid_, &st, WNOHANG, &ru) == pid_) {
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                max_rss_kib_ = static_cast<std::uint64_t>(ru.ru_maxrss);
                return *status_;
            }
            if (std::chrono::steady_clock::now() >= until) return -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    // The port at the end of the log's first complete line holding `marker` (the number after that
    // line's last ':'), polled until timeout; 0 if the child exited or never said it.
    int port(const std::string& marker, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            const std::string text = log();
            if (auto at = text.find(marker); at != std::string::npos) {
                const auto eol = text.find('\n', at);
                const auto colon = eol == std::string::npos ? eol : text.rfind(':', eol);
                if (colon != std::string::npos && colon >= at) return std::atoi(text.c_str() + colon + 1);
            }
            if (wait(std::chrono::milliseconds(0)) >= 0) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return 0;
    }

    // The port a child writes into `file` (our python test servers' --port-file), polled until the
    // file holds a number; 0 if the child exited first or timeout passed.
    int port_in_file(const std::filesystem::path& file, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            if (std::filesystem::exists(file)) {
                const int port = std::atoi(slurp(file).c_str());
                if (port > 0) return port;
            }
            if (wait(std::chrono::milliseconds(0)) >= 0) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return 0;
    }

    std::string log() const { return slurp(log_); }

    // True once the log holds needle at least `count` times, polled until timeout.
    bool log_has(const std::string& needle, std::size_t count = 1,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            const std::string text = log();
            std::size_t n = 0;
            for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
            if (n >= count) return true;
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    // VmHWM (peak resident set) of the running child in KiB; 0 once it has exited.
    std::uint64_t vm_hwm_kib() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
        return 0;
    }
    // Peak RSS in KiB from wait4's rusage, once the child has been reaped; 0 before.
    std::uint64_t max_rss_kib() const { return max_rss_kib_; }

private:
    std::filesystem::path log_;
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::uint64_t max_rss_kib_ = 0;
};

}  // namespace cdi::test
