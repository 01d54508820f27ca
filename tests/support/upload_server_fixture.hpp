#pragma once
// The cdi-uploadserver binary as the upload controller runs it: a real process on a free port, real
// mutual TLS (certificates made at test time by pki.hpp), curl as the client (contract section 6).
// Shared by the integration tests of the upload server.
#include "support/child_process.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace cdi::test {

// One cdi-uploadserver child (child_process.hpp): env in (plus the test's PATH), stdout and stderr in
// the log, "listening on <addr>:<port>" read from it.
class server_process : public child_process {
public:
    server_process(const std::map<std::string, std::string>& env, const std::filesystem::path& log)
        : child_process({CDI_BINARY_DIR "/server/cdi-uploadserver", "-v=3"}, env, log) {}

    // The bound port, once the log names it ("[::1]:<port>" too); 0 if the process exited or never said it.
    int port(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        return child_process::port("listening on ", timeout);
    }
};

// The environment CDI's upload controller gives the server (mTLS with pki's certificates, a free port on
// 127.0.0.1, the data directory, the termination log), extra entries winning. The one copy the
// fixtures below and the clone tests start the server with.
inline std::map<std::string, std::string> upload_server_env(const pki& p, const std::filesystem::path& data,
                                                            const std::filesystem::path& termination_log,
                                                            std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> e = {
        {"TLS_KEY_FILE", p.key("server").string()},
        {"TLS_CERT_FILE", p.crt("server").string()},
        {"CLIENT_CERT_FILE", p.crt("ca").string()},
        {"CLIENT_NAME", pki::client_cn},
        {"LISTEN_ADDRESS", "127.0.0.1"},
        {"LISTEN_PORT", "0"},
        {"CDI_DATA_DIR", data.string()},
        {"CDI_TERMINATION_LOG", termination_log.string()},
    };
    for (auto& [k, v] : extra) e[k] = v;
    return e;
}

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
        extra.emplace("CDI_SCRATCH_DIR", scratch_.string());
        return upload_server_env(pki_, data_, dir_ / "termination-log", std::move(extra));
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
