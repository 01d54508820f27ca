#pragma once
// The built cdi-containerimage-server as a real child process, as CDI's node-pull pod runs it
// (contract 1.7): its own image directory, ready and done files in a temp_dir, stderr in a log file,
// -p 0 so it picks a free port (read back from its "listening on 127.0.0.1:<port>" line). Plus a
// plain-socket HTTP client for what curl hides (pipelining, malformed requests, idle closes).
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

inline const std::string image_server_binary = CDI_BINARY_DIR "/containers/tools/cdi-containerimage-server";

inline std::string slurp_text(const std::filesystem::path& p) {
    auto v = read_file(p);
    return {v.begin(), v.end()};
}

// One server child: argv and environment in (only `env`, nothing inherited), exit status out.
// SIGKILLed and reaped on destruction if still running.
class image_server_process {
public:
    image_server_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                         const std::filesystem::path& log)
        : log_(log) {
        std::vector<std::string> strings = args;
        strings.insert(strings.begin(), image_server_binary);
        std::vector<char*> argv;
        for (auto& s : strings) argv.push_back(s.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_strings;
        for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& s : env_strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (posix_spawn(&pid_, image_server_binary.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    image_server_process(const image_server_process&) = delete;
    image_server_process& operator=(const image_server_process&) = delete;
    ~image_server_process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    // The port from the log's "listening on 127.0.0.1:<port>", or 0 once the process exited.
    int port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            const std::string text = log();
            if (auto at = text.find("listening on 127.0.0.1:"); at != std::string::npos) return std::atoi(text.c_str() + at + 23);
            if (wait(std::chrono::milliseconds(0)) >= 0) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return 0;
    }

    // The exit status (128 + signal when killed) once the process ended within timeout; -1 otherwise.
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (status_) return *status_;
            int st = 0;
            if (pid_ <= 0) return -1;
            if (::waitpid(pid_, &st, WNOHANG) == pid_) {
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                return *status_;
            }
            if (std::chrono::steady_clock::now() >= until) return -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    void signal(int signo) { ::kill(pid_, signo); }
    std::string log() const { return slurp_text(log_); }

private:
    std::filesystem::path log_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

// A TCP connection to 127.0.0.1:port; closed on destruction.
class raw_client {
public:
    explicit raw_client(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;
    ~raw_client() { ::close(fd_); }

    bool connected() const { return connected_; }
    bool send(const std::string& bytes) {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    }
    // Everything received until the server closes the connection or `timeout` passes without data.
    std::string read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::string out;
        closed_ = false;
        for (;;) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                closed_ = true;
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    // Whether the last read_until_close ended because the server closed the connection.
    bool closed() const { return closed_; }

private:
    int fd_;
    bool connected_ = false;
    bool closed_ = false;
};

// A temp dir with disk/<name> holding 5 MiB of random bytes, and the server started on it.
class image_server_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(disk_);
        std::filesystem::create_directories(shared_);
        must_run("head -c 5M /dev/urandom > '" + (disk_ / "disk.img").string() + "'");
        image_ = slurp_text(disk_ / "disk.img");
    }

    std::vector<std::string> args() const {
        return {"-p", "0", "-image-dir", disk_.string(), "-ready-file", ready_.string(), "-done-file", done_.string()};
    }
    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
        extra.emplace("CDI_IMAGE_SERVER_ROOT", dir_.path().string());
        return extra;
    }

    image_server_process& start(std::map<std::string, std::string> extra = {}) {
        server_.emplace(args(), env(std::move(extra)), dir_ / "server.log");
        port_ = server_->port();
        EXPECT_GT(port_, 0) << server_->log();
        return *server_;
    }

    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

    // curl -sS; returns stdout+stderr, "curl exit N: ..." on failure.
    std::string curl(const std::string& args) {
        auto r = run_command("curl -sS --max-time 30 " + args);
        return r.status == 0 ? r.output : "curl exit " + std::to_string(r.status) + ": " + r.output;
    }

    temp_dir dir_;
    std::filesystem::path disk_ = dir_ / "disk";
    std::filesystem::path shared_ = dir_ / "shared";
    std::filesystem::path ready_ = shared_ / "ready";
    std::filesystem::path done_ = shared_ / "done";
    std::string image_;
    std::optional<image_server_process> server_;
    int port_ = 0;
};

}  // namespace cdi::test
