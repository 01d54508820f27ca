#pragma once
// A real Docker registry (distribution 2.8, Debian's docker-registry) on 127.0.0.1 for tests of the
// registry source: plain HTTP or HTTPS, no auth, htpasswd (bcrypt) basic auth, or token auth with a
// real token service (token_server.py). Images are built with oci_image.py and pushed with skopeo.
//
//   temp_dir store;
//   { auto plain = docker_registry::start({.storage = store.path()});     // push without auth
//     plain->push(layout, "cdi/disk:v1"); }                                // stopped here
//   auto reg = docker_registry::start({.storage = store.path(), .tls_cert = p.crt("server"),
//                                      .tls_key = p.key("server"), .token_auth = true});
//   reg->endpoint("cdi/disk:v1");     // "docker://127.0.0.1:<port>/cdi/disk:v1"
//   reg->token_log();                 // what the token service was asked
//
// Restarting over the same storage is the recommended way to get an image into an auth/TLS
// registry. Children (registry, token server) are stopped with SIGTERM, then SIGKILL, and reaped in
// the destructor. Needs docker-registry, skopeo, curl, openssl, htpasswd (htpasswd mode) and
// /usr/bin/python3 with python3-cryptography (token mode).
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef CDI_SOURCE_DIR
#error "docker_registry.hpp needs CDI_SOURCE_DIR (set for every test target) to find its scripts"
#endif

namespace cdi::test {

struct registry_options {
    std::filesystem::path storage{};  // rootdirectory, shareable across restarts; "" = private to the fixture
    std::filesystem::path tls_cert{};  // both set: HTTPS (e.g. pki::crt("server"), which covers 127.0.0.1)
    std::filesystem::path tls_key{};
    std::optional<std::pair<std::string, std::string>> htpasswd{};  // user, password: basic auth (bcrypt file)
    bool token_auth = false;  // auth: token with token_server.py as realm (HTTPS when tls_cert is set)
    std::string token_user = "cdi-user";
    std::string token_password = "cdi-token-password";
    int token_expires = 300;       // seconds; the registry accepts a token up to 60 s past exp
    int token_expired_first = 0;   // the first N tokens are already expired: the registry answers 401
    int token_huge = 0;            // > 0: every token padded to this many bytes (a hostile token service)
};

// One request the token service answered (token_server.py --log).
struct token_request {
    std::string method;
    std::string path;
    std::string query;  // raw query string
    std::string service;
    std::vector<std::string> scope;
    bool authorization = false;  // an Authorization header was sent
    std::string user;            // basic-auth user name ("" without)
    int status = 0;
};

struct push_options {
    bool all = false;                  // skopeo --all: push every manifest of an index
    std::string format{};              // skopeo --format: "" (keep), "oci", "v2s2"
    std::string source_tag = "latest"; // the layout's ref name (the spec's "tag")
};

// Runs tests/support/oci_image.py; returns its JSON summary (top digest, per-image digests).
inline std::string build_oci_layout(const std::filesystem::path& spec, const std::filesystem::path& out_dir,
                                    const std::filesystem::path& archive = {}) {
    std::string cmd = "/usr/bin/python3 '" CDI_SOURCE_DIR "/tests/support/oci_image.py' '" + spec.string() + "' '" +
                      out_dir.string() + "'";
    if (!archive.empty()) cmd += " --archive '" + archive.string() + "'";
    return must_run(cmd + " 2>/dev/null");
}

class docker_registry {
public:
    static constexpr const char* service_name = "cdi-test-registry";
    static constexpr const char* issuer_name = "cdi-test-token-issuer";

    static std::unique_ptr<docker_registry> start(registry_options opts) {
        auto r = std::unique_ptr<docker_registry>(new docker_registry(std::move(opts)));
        r->launch();
        return r;
    }

    docker_registry(const docker_registry&) = delete;
    docker_registry& operator=(const docker_registry&) = delete;
    ~docker_registry() { stop(); }

    unsigned short port() const { return port_; }
    bool tls() const { return !opts_.tls_cert.empty(); }
    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string origin() const { return std::string(tls() ? "https://" : "http://") + host(); }
    std::string url(const std::string& path) const { return origin() + path; }
    std::string endpoint(const std::string& repo_tag) const { return "docker://" + host() + "/" + repo_tag; }
    // The token service's realm ("https://127.0.0.1:<port>/token"); "" unless token_auth.
    std::string token_realm() const { return token_port_ ? token_origin() + "/token" : std::string(); }
    const std::filesystem::path& storage() const { return storage_; }

    // Where the registry keeps a blob ("sha256:<hex>"), so a test can corrupt or remove it.
    std::filesystem::path blob_path(const std::string& digest) const {
        const auto hex = digest.substr(digest.find(':') + 1);
        return storage_ / "docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
    }

    // Pushes an OCI layout directory (or an oci-archive file) with skopeo, as the configured user.
    void push(const std::filesystem::path& layout, const std::string& repo_tag, const push_options& po = {}) const {
        const bool archive = std::filesystem::is_regular_file(layout);
        std::string cmd = "skopeo --insecure-policy copy -q --dest-tls-verify=false";
        if (auto c = credentials()) cmd += " --dest-creds " + shell_quote(c->first + ":" + c->second);
        else cmd += " --dest-no-creds";
        if (po.all) cmd += " --all";
        if (!po.format.empty()) cmd += " --format " + po.format;
        cmd += " " + shell_quote(archive ? "oci-archive:" + layout.string() : "oci:" + layout.string() + ":" + po.source_tag);
        cmd += " " + shell_quote(endpoint(repo_tag));
        auto r = run_command(cmd);
        if (r.status != 0)  // the command line holds the password: report without it
            throw std::runtime_error("registry fixture: skopeo push of " + layout.string() + " to " + repo_tag +
                                     " failed:\n" + r.output);
    }
    void push(const std::filesystem::path& layout, const std::string& repo_tag, bool all) const {
        push(layout, repo_tag, push_options{.all = all});
    }

    // Uploads an OCI layout's blobs and its top manifest byte for byte with curl (a registry without
    // auth): for images skopeo would take minutes over, such as one layer listed a thousand times.
    void push_verbatim(const std::filesystem::path& layout, const std::string& repo_tag) const {
        const auto colon = repo_tag.rfind(':');
        const std::string repo = repo_tag.substr(0, colon), tag = repo_tag.substr(colon + 1);
        for (const auto& blob : std::filesystem::directory_iterator(layout / "blobs/sha256")) {
            const std::string digest = "sha256:" + blob.path().filename().string();
            // POST opens an upload session; its Location takes the whole blob in one PUT.
            const std::string loc = must_run("curl -sSfk -X POST -o /dev/null -D - " + shell_quote(url("/v2/" + repo + "/blobs/uploads/")) +
                                             " | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'");
            const std::string target = (loc.rfind("/", 0) == 0 ? origin() : std::string()) + loc.substr(0, loc.find('\n'));
            must_run("curl -sSfk -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @" +
                     shell_quote(blob.path().string()) + " " + shell_quote(target + "&digest=" + digest));
        }
        const auto index = read_file(layout / "index.json");
        const auto top = boost::json::parse(std::string(index.begin(), index.end())).at("manifests").at(0);
        const std::string digest(top.at("digest").as_string());
        must_run("curl -sSfk -o /dev/null -X PUT -H " + shell_quote("Content-Type: " + std::string(top.at("mediaType").as_string())) +
                 " --data-binary @" + shell_quote((layout / "blobs/sha256" / digest.substr(7)).string()) + " " +
                 shell_quote(url("/v2/" + repo + "/manifests/" + tag)));
    }

    // The user and password push() uses (htpasswd or token credentials), nullopt without auth.
    std::optional<std::pair<std::string, std::string>> credentials() const {
        if (opts_.htpasswd) return opts_.htpasswd;
        if (opts_.token_auth) return std::pair{opts_.token_user, opts_.token_password};
        return std::nullopt;
    }

    std::vector<token_request> token_log() const {
        std::vector<token_request> out;
        auto raw = read_file(dir_ / "token.log");
        std::istringstream in(std::string(raw.begin(), raw.end()));
        std::string line;
        while (std::getline(in, line)) {
            boost::system::error_code ec;
            auto v = boost::json::parse(line, ec);
            if (ec || !v.is_object()) continue;
            const auto& o = v.as_object();
            auto str = [&](const char* k) { return o.contains(k) ? std::string(o.at(k).as_string()) : std::string(); };
            token_request t{str("method"), str("path"), str("query"), str("service"), {}, false, str("user"), 0};
            if (o.contains("scope"))
                for (const auto& s : o.at("scope").as_array()) t.scope.emplace_back(s.as_string());
            if (o.contains("authorization")) t.authorization = o.at("authorization").as_bool();
            if (o.contains("status")) t.status = static_cast<int>(o.at("status").to_number<std::int64_t>());
            out.push_back(std::move(t));
        }
        return out;
    }

    // The registry's stdout/stderr (warnings, errors and its access log).
    std::string log() const {
        auto raw = read_file(dir_ / "registry.log");
        return {raw.begin(), raw.end()};
    }

    void stop() {
        if (registry_) registry_->stop();
        if (token_) token_->stop();
    }

private:
    explicit docker_registry(registry_options opts)
        : opts_(std::move(opts)), dir_(tmp_.path()), storage_(opts_.storage.empty() ? dir_ / "storage" : opts_.storage) {}

    static std::string shell_quote(const std::string& s) {
        std::string r = "'";
        for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
        return r + "'";
    }


    std::string token_origin() const {
        return std::string(tls() ? "https://" : "http://") + "127.0.0.1:" + std::to_string(token_port_);
    }

    std::string file_text(const std::string& name) const {
        auto raw = read_file(dir_ / name);
        return {raw.begin(), raw.end()};
    }

    std::string config() const {
        auto qp = [](const std::filesystem::path& p) { return "\"" + p.string() + "\""; };
        std::string c = "version: 0.1\nlog:\n  level: warn\n  formatter: text\n";
        c += "storage:\n  filesystem:\n    rootdirectory: " + qp(storage_) + "\n  delete:\n    enabled: true\n";
        c += "  maintenance:\n    uploadpurging:\n      enabled: false\n";
        // A fixed secret: upload state stays valid across restarts over the same storage.
        c += "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n  secret: cdi-test-upload-state-secret\n";
        if (tls()) c += "  tls:\n    certificate: " + qp(opts_.tls_cert) + "\n    key: " + qp(opts_.tls_key) + "\n";
        if (opts_.htpasswd) {
            c += "auth:\n  htpasswd:\n    realm: cdi-test-registry\n    path: " + qp(dir_ / "htpasswd") + "\n";
        } else if (opts_.token_auth) {
            c += "auth:\n  token:\n    realm: " + token_realm() + "\n    service: " + service_name +
                 "\n    issuer: " + issuer_name + "\n    rootcertbundle: " + qp(dir_ / "token-signing.crt") + "\n";
        }
        return c;
    }

    void start_token_server() {
        const auto key = "'" + (dir_ / "token-signing.key").string() + "'";
        const auto crt = "'" + (dir_ / "token-signing.crt").string() + "'";
        // Self-signed and itself the rootcertbundle: distribution checks the JWT's x5c against it.
        must_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key);
        must_run("openssl req -x509 -new -key " + key + " -subj '/CN=cdi-test-token-signer' -days 2 -out " + crt);
        const auto port_file = dir_ / "token.port";
        std::vector<std::string> argv{"/usr/bin/python3", CDI_SOURCE_DIR "/tests/support/token_server.py",
                                      "--port", "0", "--port-file", port_file.string(),
                                      "--signing-key", (dir_ / "token-signing.key").string(),
                                      "--signing-cert", (dir_ / "token-signing.crt").string(),
                                      "--user", opts_.token_user, "--password", opts_.token_password,
                                      "--issuer", issuer_name, "--service", service_name,
                                      "--expires", std::to_string(opts_.token_expires),
                                      "--expired-first", std::to_string(opts_.token_expired_first),
                                      "--huge-token", std::to_string(opts_.token_huge),
                                      "--log", (dir_ / "token.log").string()};
        if (tls()) argv.insert(argv.end(), {"--cert", opts_.tls_cert.string(), "--key", opts_.tls_key.string()});
        token_.emplace(argv, std::map<std::string, std::string>{}, dir_ / "token.out");
        if (const int port = token_->port_in_file(port_file)) {
            token_port_ = static_cast<unsigned short>(port);
            return;
        }
        token_->stop();
        throw std::runtime_error("registry fixture: token_server.py did not start:\n" + file_text("token.out"));
    }

    // GET /v2/ answered 200 (no auth) or 401 (auth required).
    bool answers() const {
        auto r = run_command("curl -sk -o /dev/null --max-time 2 -w '%{http_code}' " + url("/v2/"));
        return r.output == "200" || r.output == "401";
    }

    void launch() {
        std::filesystem::create_directories(storage_);
        if (opts_.htpasswd) {
            const auto& [user, password] = *opts_.htpasswd;
            auto r = run_command("htpasswd -Bbn " + shell_quote(user) + " " + shell_quote(password) + " 2>/dev/null");
            if (r.status != 0) throw std::runtime_error("registry fixture: htpasswd -Bbn failed");
            write_file(dir_ / "htpasswd", r.output.data(), r.output.size());
        }
        if (opts_.token_auth) start_token_server();
        std::string last_log;
        for (int attempt = 0; attempt < 5; ++attempt) {  // another process may take the port first
            port_ = free_loopback_port();
            const auto conf = dir_ / "config.yml";
            const auto text = config();
            write_file(conf, text.data(), text.size());
            // Only PATH in its environment: REGISTRY_* variables would override the config file.
            registry_.emplace(std::vector<std::string>{"docker-registry", "serve", conf.string()},
                              std::map<std::string, std::string>{}, dir_ / "registry.log");
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
            while (std::chrono::steady_clock::now() < deadline && registry_->running()) {
                if (answers()) return;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            registry_->stop();
            last_log = log();
        }
        stop();
        throw std::runtime_error("registry fixture: docker-registry did not start:\n" + last_log);
    }

    registry_options opts_;
    temp_dir tmp_;
    std::filesystem::path dir_;
    std::filesystem::path storage_;
    unsigned short port_ = 0;
    unsigned short token_port_ = 0;
    std::optional<child_process> token_;
    std::optional<child_process> registry_;
};

}  // namespace cdi::test
