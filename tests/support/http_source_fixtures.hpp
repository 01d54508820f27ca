#pragma once
// Shared fixtures of the http_source tests: fast options, a served directory with a random disk
// image, TLS sites from pki, CA directories, and a Range-aware responder for fault_http_server.
#include "importer/http/http_source.hpp"
#include "support/fault_http_server.hpp"
#include "support/nginx.hpp"
#include "support/pki.hpp"
#include "support/test_stages.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace cdi::test {

using namespace std::chrono_literals;

inline http_options fast_options() {
    http_options o;
    o.idle_timeout = 2s;
    o.connect_timeout = 2s;
    o.max_retries = 3;
    o.retry_backoff = 10ms;
    return o;
}

inline result<bytes> download(const std::string& url, http_options opts) {
    cancel_token cancel;
    auto src = http_source::open(url, std::move(opts), cancel);
    if (!src) return src.error();
    return drain(**src);
}

inline std::string_view as_text(const bytes& b, std::size_t from = 0, std::size_t n = std::string::npos) {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size()).substr(from, n);
}

// Serves data with Content-Length; honours "Range: bytes=N-" with a 206 when ranges is set.
inline void serve_range(const bytes& data, bool ranges, const fault_request& req, fault_reply& out, std::size_t cut_at = SIZE_MAX) {
    std::size_t from = 0;
    auto range = req.header("Range");
    std::vector<std::pair<std::string, std::string>> h;
    if (ranges) h.emplace_back("Accept-Ranges", "bytes");
    h.emplace_back("ETag", "\"v1\"");
    int status = 200;
    if (ranges && range.rfind("bytes=", 0) == 0) {
        from = std::stoul(range.substr(6));
        status = 206;
        h.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) + "/" +
                                            std::to_string(data.size()));
    }
    h.emplace_back("Content-Length", std::to_string(data.size() - from));
    out.send(fault_http_server::head(status, h));
    if (req.method == "HEAD") return;
    auto end = std::min(data.size(), cut_at);
    if (from < end) out.send(as_text(data, from, end - from));
}

// A served directory holding disk.img (3 MiB + 5 bytes of random data).
struct web_root {
    temp_dir tmp;
    bytes data = random_bytes(3 * 1024 * 1024 + 5, 7);
    web_root() {
        std::filesystem::create_directories(tmp / "www");
        write_file(tmp / "www" / "disk.img", data.data(), data.size());
    }
    std::filesystem::path www() const { return tmp / "www"; }
};

inline nginx_options tls_site(const web_root& root, const pki& p) {
    nginx_options o;
    o.root = root.www();
    o.tls_cert = p.crt("server");
    o.tls_key = p.key("server");
    return o;
}

// A CA directory holding only pki's CA, under a name that is not *.crt.
inline std::filesystem::path ca_dir_with(const temp_dir& tmp, const pki& p, const std::string& file_name) {
    auto dir = tmp / ("cas-" + file_name);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(p.crt("ca"), dir / file_name);
    return dir;
}

}  // namespace cdi::test
