#include "importer/node_pull.hpp"

#include "importer/registry/env_labels.hpp"
#include "importer/http/http_source.hpp"
#include "importer/http/http_url.hpp"

#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

namespace cdi {

http_options sidecar_http_options(http_options base) {
    base.max_redirects = 0;
    return base;
}

result<std::string> await_ready_file(const importer_config& cfg, const cancel_token& cancel) {
    for (int i = 0; i <= 60 && !cancel.canceled(); ++i) {
        std::ifstream in(cfg.ready_file);
        if (in) {
            std::string name((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
            std::string endpoint = cfg.endpoint;
            if (!name.empty() && endpoint.size() >= 8 && endpoint.ends_with("disk.img")) {
                // A space, '?' or '#' is part of the file name, not of the URL's syntax.
                endpoint.replace(endpoint.size() - 8, 8, percent_encode(name, "/"));
            }
            return endpoint;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return make_error(errc::timeout, "Timeout waiting for file " + cfg.ready_file.string());
}

result<std::map<std::string, std::string>> fetch_node_labels(const importer_config& cfg, const std::string& endpoint,
                                                              const cancel_token& cancel) {
    auto scheme_end = endpoint.find("://");
    auto host_end = scheme_end == std::string::npos ? std::string::npos : endpoint.find('/', scheme_end + 3);
    std::string info = endpoint.substr(0, host_end) + "/info";
    auto opts = sidecar_http_options(cfg.http);
    opts.idle_timeout = std::min(opts.idle_timeout, info_deadline);
    opts.connect_timeout = std::min(opts.connect_timeout, info_deadline);
    opts.max_retries = 0;  // the sidecar is local: retries would stretch a stall past the deadline
    const auto deadline = std::chrono::steady_clock::now() + info_deadline;
    auto src = http_source::open(info, std::move(opts), cancel);
    if (!src) return src.error();
    std::string body;
    std::array<std::byte, 16384> buf{};
    for (;;) {
        auto n = (*src)->read(buf);
        if (!n) return n.error();
        if (*n == 0) break;
        if (body.size() + *n > max_info_bytes) return make_error(errc::bad_request, info + " answered more than 1 MiB");
        body.append(reinterpret_cast<const char*>(buf.data()), *n);
        if (std::chrono::steady_clock::now() > deadline)
            return make_error(errc::timeout, info + " did not answer within " + std::to_string(info_deadline.count() / 1000) + " s");
    }
    return env_labels_from_info(body);
}

}  // namespace cdi
