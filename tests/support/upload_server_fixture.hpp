#pragma once
// The cdi-uploadserver binary as the upload controller runs it: a real process on a free port, real
// mutual TLS (certificates made at test time by pki.hpp), curl as the client (contract section 6).
// Shared by the integration tests of the upload server.
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

inline std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
inline std::string slurp(const std::filesystem::path& p) {
    auto v = read_file(p);
    return {v.begin(), v.end()};
}

// One cdi-uploadserver child: env in, "listening on <addr>:<port>" read from its log, exit status
// and peak RSS out. Killed (SIGKILL) and reaped on destruction if still running.
class server_process {
public:
    server_process(const std::map<std::string, std::string>& env, const std::filesystem::path& log) : log_(log) {
        std::vector<std::string> strings;
        if (const char* path = std::getenv("PATH"); path && !env.count("PATH")) strings.push_back(std::string("PATH=") + path);
        for (const auto& [k, v] : env) strings.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& s : strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::string bin = CDI_BINARY_DIR "/server/cdi-uploadserver";
        std::string v = "-v=3";
        char* argv[] = {bin.data(), v.data(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv, envp.data()) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;
    ~server_process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    // The bound port, once the log names it; 0 if the process exited or never said it.
    int port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            const std::string text = log();
            if (auto at = text.find("listening on "); at != std::string::npos) {
                auto eol = text.find('\n', at);
                auto colon = eol == std::string::npos ? eol : text.rfind(':', eol);  // "[::1]:<port>"
                if (colon != std::string::npos && eol != std::string::npos)
                    return std::stoi(text.substr(colon + 1, eol - colon - 1));
            }
            if (exited(std::chrono::milliseconds(0))) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return 0;
    }

    // The exit status once the process ended within timeout; -1 otherwise.
    int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) { return exited(timeout) ? *status_ : -1; }
    void signal(int signo) { ::kill(pid_, signo); }
    std::string log() const { return slurp(log_); }
    pid_t pid() const { return pid_; }

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

    // VmHWM (peak resident set) of the running process in KiB; 0 once it has exited.
    std::uint64_t vm_hwm_kib() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
        return 0;
    }
    // Peak RSS in KiB from wait4's rusage, once the process has been reaped; 0 before.
    std::uint64_t max_rss_kib() const { return max_rss_kib_; }

private:
    bool exited(std::chrono::milliseconds timeout) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (status_) return true;
            int st = 0;
            struct rusage ru {};
            if (::wait4(pid_, &st, WNOHANG, &ru) == pid_) {
                status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                max_rss_kib_ = static_cast<std::uint64_t>(ru.ru_maxrss);
                return true;
            }
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    std::filesystem::path log_;
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::uint64_t max_rss_kib_ = 0;
};

// A test directory with a PKI, data and scratch directories, an 8 MiB disk.raw (3 MiB random, the
// rest a hole), and helpers to start the server and talk to it with curl.
class upload_server_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        if (!have_tool("curl") || !have_tool("openssl") || !have_tool("qemu-img"))
            GTEST_SKIP() << "needs curl, openssl and qemu-img";
        std::filesystem::create_directories(data_);
        std::filesystem::create_directories(scratch_);
        must_run("head -c 3M /dev/urandom > " + q(dir_ / "disk.raw") + " && truncate -s 8M " + q(dir_ / "disk.raw"));
    }

    std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) {
        std::map<std::string, std::string> e = {
            {"TLS_KEY_FILE", pki_.key("server").string()},
            {"TLS_CERT_FILE", pki_.crt("server").string()},
            {"CLIENT_CERT_FILE", pki_.crt("ca").string()},
            {"CLIENT_NAME", pki::client_cn},
            {"LISTEN_ADDRESS", "127.0.0.1"},
            {"LISTEN_PORT", "0"},
            {"CDI_DATA_DIR", data_.string()},
            {"CDI_SCRATCH_DIR", scratch_.string()},
            {"CDI_TERMINATION_LOG", (dir_ / "termination-log").string()},
        };
        for (auto& [k, v] : extra) e[k] = v;
        return e;
    }

    server_process& start(std::map<std::string, std::string> extra = {}) {
        server_.emplace(env(std::move(extra)), dir_ / "server.log");
        port_ = server_->port();
        EXPECT_GT(port_, 0) << server_->log();
        return *server_;
    }

    std::string url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port_) + path; }

    // curl with the given client identity ("" = none); returns "<status>" or the curl failure.
    std::string curl(const std::string& args, const std::string& path, const std::string& who = "client") {
        std::string cmd = "curl -sS --max-time 60 --cacert " + q(pki_.crt("ca")) + " -o " + q(dir_ / "body") +
                          " -w '%{http_code}' ";
        if (!who.empty()) cmd += "--cert " + q(pki_.crt(who)) + " --key " + q(pki_.key(who)) + " ";
        cmd += args + " " + url(path);
        std::filesystem::remove(dir_ / "body");
        auto r = run_command(cmd);
        return r.status == 0 ? r.output : "curl exit " + std::to_string(r.status) + ": " + r.output;
    }
    std::string body() const { return slurp(dir_ / "body"); }
    std::string upload(const std::filesystem::path& file, const std::string& extra = "") {
        return curl("--data-binary @" + q(file) + " " + extra, "/v1beta1/upload");
    }

    temp_dir dir_;
    std::filesystem::path data_ = dir_ / "data";
    std::filesystem::path scratch_ = dir_ / "scratch";
    pki pki_{dir_ / "pki"};
    std::optional<server_process> server_;
    int port_ = 0;
};

}  // namespace cdi::test
