#pragma once
// A GCS stand-in (gcs_server.py) as a child of the test on a free 127.0.0.1 port: the OAuth 2.0 token
// endpoint of the JWT bearer flow, verifying each assertion with the public half of a key the test
// made, and the XML API's object GET from <root>/<bucket>/<object>. Stopped on destruction.
//
//   auto gcs = gcs_server::start({.root = dir / "gcs" / "root", .public_key = pub_pem});
//   gcs->url("/bkt/disk.img");   // "http://127.0.0.1:<port>/bkt/disk.img"
//   gcs->token_uri();            // "http://127.0.0.1:<port>/token" (the key file's token_uri)
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#ifndef CDI_SOURCE_DIR
#error "gcs_server.hpp needs CDI_SOURCE_DIR (set for every test target) to find gcs_server.py"
#endif

namespace cdi::test {

struct gcs_server_options {
    std::filesystem::path root{};        // <root>/<bucket>/<object>
    std::filesystem::path public_key{};  // PEM: the assertions must verify with it
    bool anonymous = false;              // requests without a token are served too
    int expires = 3600;                  // the tokens' lifetime, seconds
    std::uint64_t reset_after = 0;       // the first whole-object GET is reset after this many bytes
};

class gcs_server {
public:
    static std::unique_ptr<gcs_server> start(gcs_server_options o) {
        std::filesystem::create_directories(o.root);
        const auto dir = o.root.parent_path();
        const auto port_file = dir / "gcs.port";
        std::filesystem::remove(port_file);
        std::vector<std::string> argv{"/usr/bin/python3", CDI_SOURCE_DIR "/tests/support/gcs_server.py", "--root", o.root.string(),
                                      "--port-file", port_file.string(), "--public-key", o.public_key.string(),
                                      "--expires", std::to_string(o.expires), "--log", (dir / "gcs.log").string()};
        if (o.anonymous) argv.push_back("--anonymous");
        if (o.reset_after) argv.insert(argv.end(), {"--reset-after", std::to_string(o.reset_after)});
        std::unique_ptr<gcs_server> s(new gcs_server(std::move(o)));
        s->child_ = std::make_unique<child_process>(argv, std::map<std::string, std::string>{}, dir / "gcs.out");
        if (const int port = s->child_->port_in_file(port_file)) {
            s->port_ = static_cast<unsigned short>(port);
            return s;
        }
        throw std::runtime_error("gcs_server.py did not start:\n" + slurp(dir / "gcs.out"));
    }

    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    std::string token_uri() const { return url("/token"); }
    std::string log() const {
        const auto f = opts_.root.parent_path() / "gcs.log";
        return std::filesystem::exists(f) ? slurp(f) : std::string();
    }

private:
    explicit gcs_server(gcs_server_options o) : opts_(std::move(o)) {}
    gcs_server_options opts_;
    std::unique_ptr<child_process> child_;
    unsigned short port_ = 0;
};

}  // namespace cdi::test
