#pragma once
// An S3 server that verifies Signature V4 (s3_server.py) as a child of the test, on a free 127.0.0.1
// port, serving path-style buckets from folders under its root; objects are seeded with
// `curl --aws-sigv4` (a signer other than ours). Stopped (SIGKILL, reaped) on destruction.
//
//   auto s3 = s3_server::start({.root = dir / "s3"});
//   s3->put("images/disk.qcow2", local_file);   // signed PUT
//   s3->url("/images/disk.qcow2");              // "http://127.0.0.1:<port>/images/disk.qcow2"
//   s3->log();                                  // one JSON line per request the server answered
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#ifndef CDI_SOURCE_DIR
#error "s3_server.hpp needs CDI_SOURCE_DIR (set for every test target) to find s3_server.py"
#endif

namespace cdi::test {

struct s3_server_options {
    std::filesystem::path root{};            // <root>/<bucket>/<key>
    std::string access_key = "AKIDCDITEST0000EXAMPLE";
    std::string secret_key = "cdi/Test+Secret0000wJalrXUtnFEMIEXAMPLE";
    bool anonymous = false;                  // unsigned requests are served too
    std::uint64_t reset_after = 0;           // the first whole-object GET is reset after this many bytes
    std::filesystem::path tls_cert{}, tls_key{};  // HTTPS when set
};

class s3_server {
public:
    static std::unique_ptr<s3_server> start(s3_server_options o) {
        std::filesystem::create_directories(o.root);
        const auto port_file = o.root.parent_path() / "s3.port";
        std::filesystem::remove(port_file);
        std::vector<std::string> argv{"/usr/bin/python3", CDI_SOURCE_DIR "/tests/support/s3_server.py", "--root", o.root.string(),
                                      "--port-file", port_file.string(), "--access-key", o.access_key, "--secret-key", o.secret_key,
                                      "--log", (o.root.parent_path() / "s3.log").string()};
        if (o.anonymous) argv.push_back("--anonymous");
        if (o.reset_after) argv.insert(argv.end(), {"--reset-after", std::to_string(o.reset_after)});
        if (!o.tls_cert.empty()) argv.insert(argv.end(), {"--cert", o.tls_cert.string(), "--key", o.tls_key.string()});
        std::unique_ptr<s3_server> s(new s3_server(std::move(o)));
        s->child_ = std::make_unique<child_process>(argv, std::map<std::string, std::string>{}, s->opts_.root.parent_path() / "s3.out");
        if (const int port = s->child_->port_in_file(port_file)) {
            s->port_ = static_cast<unsigned short>(port);
            return s;
        }
        throw std::runtime_error("s3_server.py did not start:\n" + slurp(s->opts_.root.parent_path() / "s3.out"));
    }

    std::string url(const std::string& path) const {
        return std::string(opts_.tls_cert.empty() ? "http" : "https") + "://127.0.0.1:" + std::to_string(port_) + path;
    }
    const s3_server_options& options() const { return opts_; }

    // A PUT of file as /<object> signed by curl (region us-east-1); curl 7.88 does not add
    // x-amz-content-sha256 itself, so it is given and signed as an x-amz-* header.
    void put(const std::string& object, const std::filesystem::path& file) const {
        const auto sha = must_run("sha256sum " + q(file) + " | cut -d' ' -f1");
        must_run("curl -sSf --aws-sigv4 aws:amz:us-east-1:s3 --user " + q(opts_.access_key + ":" + opts_.secret_key) +
                 " -H 'x-amz-content-sha256: " + sha.substr(0, 64) + "' -T " + q(file) + (opts_.tls_cert.empty() ? "" : " -k") + " " +
                 q(url("/" + object)));
    }

    std::string log() const {
        const auto f = opts_.root.parent_path() / "s3.log";
        return std::filesystem::exists(f) ? slurp(f) : std::string();
    }

private:
    explicit s3_server(s3_server_options o) : opts_(std::move(o)) {}
    s3_server_options opts_;
    std::unique_ptr<child_process> child_;
    unsigned short port_ = 0;
};

}  // namespace cdi::test
