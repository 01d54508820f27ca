#pragma once
// A real nginx (Debian's nginx-light) serving a directory on 127.0.0.1 over HTTP or HTTPS, for tests
// of the importer's HTTP source: optional basic auth, redirect locations and an access log that
// records what each request carried (Authorization, one chosen header, Range, User-Agent).
//
//   auto web = nginx_server::start({.root = dir, .tls_cert = p.crt("server"), .tls_key = p.key("server")});
//   web->url("/disk.img");                  // "https://127.0.0.1:<port>/disk.img"
//   web->access_log()[0].authorization;     // what the server received
//
// nginx runs as a child (daemon off, master_process off) with its prefix, config, logs and temp
// directories in a temp_dir; it is stopped (SIGTERM, then SIGKILL) and reaped in the destructor.
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

struct nginx_redirect {
    std::string path;    // exact request path, e.g. "/old.img"
    std::string target;  // Location: absolute URL or a path ("/new.img", "../x")
    int status = 302;    // 301, 302, 303, 307 or 308
};

struct nginx_options {
    std::filesystem::path root{};    // served directory (files served with Content-Length)
    std::filesystem::path tls_cert{};  // both set: HTTPS only (e.g. pki::crt("server"), which covers 127.0.0.1)
    std::filesystem::path tls_key{};
    std::optional<std::pair<std::string, std::string>> basic_auth{};  // user, password for every file
    std::vector<nginx_redirect> redirects{};                        // answered before auth
    std::string logged_header = "X-Secret";                         // recorded as access_entry::header
    std::string limit_rate{};  // nginx limit_rate per response, e.g. "2m" (slow origins); empty: unlimited
};

struct access_entry {
    std::string method;
    std::string uri;
    int status = 0;
    std::string authorization;  // the raw Authorization header, "" when absent
    std::string header;         // nginx_options::logged_header's value, "" when absent
    std::string range;
    std::string user_agent;
};

class nginx_server {
public:
    static std::unique_ptr<nginx_server> start(nginx_options opts) {
        auto s = std::unique_ptr<nginx_server>(new nginx_server(std::move(opts)));
        s->launch();
        return s;
    }

    nginx_server(const nginx_server&) = delete;
    nginx_server& operator=(const nginx_server&) = delete;
    ~nginx_server() { stop(); }

    unsigned short port() const { return port_; }
    bool tls() const { return !opts_.tls_cert.empty(); }
    std::string origin() const { return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_); }
    std::string url(const std::string& path) const { return origin() + path; }

    // Every request answered so far, oldest first. nginx writes a request's line just after its
    // response has gone out, so a client may have all its bytes a moment before: the log is read
    // once it has not grown for 50 ms (at most 2 s). A test expecting a known count waits for it
    // with requests_for(path, done).
    std::vector<access_entry> access_log() const {
        std::vector<access_entry> out;
        const auto log = dir_ / "access.log";
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        for (std::error_code ec; std::chrono::steady_clock::now() < give_up;) {
            const auto before = std::filesystem::file_size(log, ec);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            if (std::filesystem::file_size(log, ec) == before) break;
        }
        auto raw = read_file(log);
        std::istringstream in(std::string(raw.begin(), raw.end()));
        std::string line;
        while (std::getline(in, line)) {
            std::vector<std::string> f;
            std::size_t pos = 0;
            for (;;) {
                auto tab = line.find('\t', pos);
                f.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
                if (tab == std::string::npos) break;
                pos = tab + 1;
            }
            if (f.size() < 7) continue;
            access_entry e{f[0], f[1], std::atoi(f[2].c_str()), f[3], f[4], f[5], f[6]};
            out.push_back(std::move(e));
        }
        return out;
    }

    // The entries for one path (the URI without its query).
    std::vector<access_entry> requests_for(const std::string& path) const {
        std::vector<access_entry> out;
        for (auto& e : access_log())
            if (e.uri.substr(0, e.uri.find('?')) == path) out.push_back(e);
        return out;
    }

    // The same once done(entries) holds, or after 5 s: nginx writes a request's line after its
    // response has gone out, so a client can hold every byte before the line is there.
    template <class Done>
    std::vector<access_entry> requests_for(const std::string& path, Done done) const {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        for (;;) {
            auto out = requests_for(path);
            if (done(out) || std::chrono::steady_clock::now() > give_up) return out;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    const std::filesystem::path& dir() const { return dir_; }

private:
    explicit nginx_server(nginx_options opts) : opts_(std::move(opts)), dir_(tmp_.path()) {}


    static std::string header_var(const std::string& name) {
        std::string v = "$http_";
        for (char c : name) v += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return v;
    }

    std::string config() const {
        std::string c;
        c += "daemon off;\nmaster_process off;\nworker_processes 1;\npid " + (dir_ / "nginx.pid").string() + ";\n";
        c += "error_log " + (dir_ / "error.log").string() + " info;\n";
        c += "events { worker_connections 64; }\n";
        c += "http {\n";
        c += "  default_type application/octet-stream;\n  types { text/html html; }\n";
        c += "  log_format cdi escape=json '$request_method\\t$request_uri\\t$status\\t$http_authorization\\t" +
             header_var(opts_.logged_header) + "\\t$http_range\\t$http_user_agent';\n";
        c += "  access_log " + (dir_ / "access.log").string() + " cdi;\n";
        for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
            c += std::string("  ") + t + "_temp_path " + (dir_ / (std::string(t) + "_temp")).string() + ";\n";
        c += "  sendfile on;\n  keepalive_timeout 30s;\n";
        c += "  server {\n";
        if (tls()) {
            c += "    listen 127.0.0.1:" + std::to_string(port_) + " ssl;\n";
            c += "    ssl_certificate " + opts_.tls_cert.string() + ";\n";
            c += "    ssl_certificate_key " + opts_.tls_key.string() + ";\n";
            c += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
        } else {
            c += "    listen 127.0.0.1:" + std::to_string(port_) + ";\n";
        }
        c += "    server_name localhost;\n    root " + opts_.root.string() + ";\n";
        if (!opts_.limit_rate.empty()) c += "    limit_rate " + opts_.limit_rate + ";\n";
        if (opts_.basic_auth) {
            c += "    auth_basic \"cdi-test\";\n    auth_basic_user_file " + (dir_ / "htpasswd").string() + ";\n";
        }
        for (const auto& r : opts_.redirects)
            c += "    location = " + r.path + " { return " + std::to_string(r.status) + " \"" + r.target + "\"; }\n";
        c += "  }\n}\n";
        return c;
    }

    void write_htpasswd() const {
        const auto& [user, password] = *opts_.basic_auth;
        const auto file = "'" + (dir_ / "htpasswd").string() + "'";
        if (have_tool("htpasswd")) {
            must_run("htpasswd -bcB " + file + " '" + user + "' '" + password + "' 2>/dev/null");
        } else {
            auto hash = must_run("openssl passwd -apr1 '" + password + "'");
            while (!hash.empty() && hash.back() == '\n') hash.pop_back();
            auto line = user + ":" + hash + "\n";
            write_file(dir_ / "htpasswd", line.data(), line.size());
        }
    }

    bool answers() const {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port_);
        bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        if (fd >= 0) ::close(fd);
        return ok;
    }

    void launch() {
        if (opts_.basic_auth) write_htpasswd();
        std::string last_error;
        for (int attempt = 0; attempt < 5; ++attempt) {  // another process may take the port first
            port_ = free_loopback_port();
            const auto conf = dir_ / "nginx.conf";
            const auto text = config();
            write_file(conf, text.data(), text.size());
            const auto out = dir_ / "nginx.out";
            proc_.emplace(std::vector<std::string>{"nginx", "-p", dir_.string(), "-c", conf.string()},
                          std::map<std::string, std::string>{}, out);
            if (!proc_->started()) throw std::runtime_error("nginx fixture: nginx could not be started");
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (std::chrono::steady_clock::now() < deadline && proc_->running()) {
                if (answers()) return;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            stop();
            auto log = read_file(dir_ / "error.log");
            auto o = read_file(out);
            last_error = std::string(log.begin(), log.end()) + std::string(o.begin(), o.end());
        }
        throw std::runtime_error("nginx fixture: nginx did not start:\n" + last_error);
    }

    void stop() {
        if (proc_) proc_->stop();
        proc_.reset();
    }

    nginx_options opts_;
    temp_dir tmp_;
    std::filesystem::path dir_;
    unsigned short port_ = 0;
    std::optional<child_process> proc_;
};

}  // namespace cdi::test
