#pragma once
// The built cdi-containerimage-server as a real child process, as CDI's node-pull pod runs it
// (contract 1.7): its own image directory, ready and done files in a temp_dir, stderr in a log file,
// -p 0 so it picks a free port (read back from its "listening on 127.0.0.1:<port>" line). Plus a
// plain-socket HTTP client for what curl hides (pipelining, malformed requests, idle closes).
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

inline const std::string image_server_binary = CDI_BINARY_DIR "/containers/tools/cdi-containerimage-server";

// One server child (child_process.hpp): argv and environment in (only `env`, nothing inherited),
// stderr in the log.
class image_server_process : public child_process {
public:
    image_server_process(std::vector<std::string> args, const std::map<std::string, std::string>& env,
                         const std::filesystem::path& log)
        : child_process(with_binary(std::move(args)), env, log, {.inherit_path = false, .stdout_to_log = false}) {}

    // The port from the log's "listening on 127.0.0.1:<port>", or 0 once the process exited.
    int port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return child_process::port("listening on 127.0.0.1:", timeout);
    }

private:
    static std::vector<std::string> with_binary(std::vector<std::string> args) {
        args.insert(args.begin(), image_server_binary);
        return args;
    }
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
        image_ = slurp(disk_ / "disk.img");
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
