#include "importer/importer_config.hpp"

#include "importer/http/extra_headers.hpp"
#include "importer/pod/environment.hpp"
#include "importer/pod/quantity.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <charconv>
#include <stdexcept>

namespace cdi {
namespace {

double parse_overhead(const std::string& value) {
    if (value.empty()) return 0.0;
    double v = 0.0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < 0.0 || v >= 1.0) {
        throw std::invalid_argument("FILESYSTEM_OVERHEAD \"" + value + "\" is not a fraction between 0 and 1");
    }
    return v;
}

// Go's httpproxy.FromEnvironment: the upper-case name wins when set.
std::string env_any(const importer_config::env_lookup& getenv_fn, const char* upper, const char* lower) {
    auto v = env(getenv_fn, upper);
    return v.empty() ? env(getenv_fn, lower) : v;
}

// What goes into every request's header block is bounded here, at start-up, so that no request is
// ever built that Beast cannot hold (issue 19.1). The values are secrets: only sizes are named.
constexpr std::size_t max_extra_header_bytes = 8 * 1024;        // one IMPORTER_EXTRA_HEADER_* or /extraheaders line
constexpr std::size_t max_extra_headers_total = 16 * 1024;      // all of them together
constexpr std::size_t max_proxy_url_bytes = 4 * 1024;           // http_proxy, https_proxy (userinfo included)
constexpr std::size_t max_credential_bytes = 4 * 1024;          // IMPORTER_ACCESS_KEY_ID, IMPORTER_SECRET_KEY

void check_size(std::string_view what, std::size_t size, std::size_t limit) {
    if (size > limit) {
        throw std::invalid_argument(std::string(what) + " is " + std::to_string(size) + " bytes long (at most " +
                                    std::to_string(limit) + ")");
    }
}

void check_header_sizes(const http_options& h) {
    std::size_t total = 0;
    for (const auto& line : h.extra_headers) {
        check_size("an extra header (IMPORTER_EXTRA_HEADER_* or /extraheaders)", line.size(), max_extra_header_bytes);
        total += line.size();
    }
    check_size("the extra headers together", total, max_extra_headers_total);
    check_size("http_proxy", h.proxy.http_proxy.size(), max_proxy_url_bytes);
    check_size("https_proxy", h.proxy.https_proxy.size(), max_proxy_url_bytes);
    if (h.credentials) {
        check_size("IMPORTER_ACCESS_KEY_ID", h.credentials->user.size(), max_credential_bytes);
        check_size("IMPORTER_SECRET_KEY", h.credentials->password.size(), max_credential_bytes);
    }
}

http_options http_from_env(const importer_config::env_lookup& getenv_fn, const std::vector<std::string>& environ_entries) {
    http_options h;
    // CDI reads INSECURE_TLS leniently (a parse error is false); so do we.
    try {
        h.insecure_tls = parse_go_bool("INSECURE_TLS", env(getenv_fn, "INSECURE_TLS"));
    } catch (const std::invalid_argument&) {
        h.insecure_tls = false;
    }
    if (auto dir = env(getenv_fn, "IMPORTER_CERT_DIR"); !dir.empty()) h.ca_dirs.emplace_back(dir);
    // The binary always reads /proxycerts/ (IMPORTER_PROXY_CERT_DIR is ignored by CDI too).
    std::filesystem::path proxy_certs = env(getenv_fn, "CDI_PROXY_CERT_DIR", "/proxycerts/");
    std::error_code ec;
    if (std::filesystem::is_directory(proxy_certs, ec)) h.ca_dirs.push_back(proxy_certs);

    auto user = env(getenv_fn, "IMPORTER_ACCESS_KEY_ID");
    auto pass = env(getenv_fn, "IMPORTER_SECRET_KEY");
    if (!user.empty() && !pass.empty()) h.credentials = basic_credentials{user, pass};

    h.extra_headers = env_extra_headers(environ_entries);
    auto secret = secret_extra_headers(env(getenv_fn, "CDI_EXTRA_HEADERS_DIR", "/extraheaders"));
    if (!secret) throw std::invalid_argument(secret.error().context);
    h.extra_headers.insert(h.extra_headers.end(), secret->begin(), secret->end());

    h.proxy.http_proxy = env_any(getenv_fn, "HTTP_PROXY", "http_proxy");
    h.proxy.https_proxy = env_any(getenv_fn, "HTTPS_PROXY", "https_proxy");
    h.proxy.no_proxy = env_any(getenv_fn, "NO_PROXY", "no_proxy");
    check_header_sizes(h);
    return h;
}

}  // namespace

importer_config importer_config::from_env(const env_lookup& getenv_fn, const std::vector<std::string>& environ_entries) {
    importer_config c;
    c.source = env(getenv_fn, "IMPORTER_SOURCE");
    c.endpoint = env(getenv_fn, "IMPORTER_ENDPOINT");
    c.owner_uid = env(getenv_fn, "OWNER_UID");
    c.termination_log = env(getenv_fn, "CDI_TERMINATION_LOG", "/dev/termination-log");

    std::string content = env(getenv_fn, "IMPORTER_CONTENTTYPE", "kubevirt");
    if (content == "kubevirt" || content.empty()) {
        c.spec.content = content_type::kubevirt;
    } else if (content == "archive") {
        c.spec.content = content_type::archive;
    } else {
        throw std::invalid_argument("IMPORTER_CONTENTTYPE \"" + content + "\" is neither kubevirt nor archive");
    }

    std::filesystem::path data_dir = env(getenv_fn, "CDI_DATA_DIR", "/data");
    std::filesystem::path block = env(getenv_fn, "CDI_BLOCK_DEVICE", "/dev/cdi-block-volume");
    c.spec.data_dir = data_dir;
    // CDI: block mode when the device path exists. lstat, so that a symlink or a file there (even a
    // dangling symlink) still means block mode, and is then refused as not a block device.
    struct stat block_st {};
    c.spec.block_volume = ::lstat(block.c_str(), &block_st) == 0;
    c.spec.target = c.spec.block_volume ? block : data_dir / "disk.img";

    // CDI decides "scratch space is missing" by statfs failing on the mount point.
    std::filesystem::path scratch = env(getenv_fn, "CDI_SCRATCH_DIR", "/scratch");
    struct statfs sfs {};
    if (::statfs(scratch.c_str(), &sfs) == 0) c.spec.scratch_dir = scratch;

    if (auto size = env(getenv_fn, "IMPORTER_IMAGE_SIZE"); !size.empty()) {
        auto bytes = parse_quantity(size);
        if (!bytes) throw std::invalid_argument("IMPORTER_IMAGE_SIZE: " + bytes.error().context);
        c.spec.requested_size = *bytes;
    }
    c.spec.filesystem_overhead = parse_overhead(env(getenv_fn, "FILESYSTEM_OVERHEAD"));
    c.spec.preallocate = parse_go_bool("PREALLOCATION", env(getenv_fn, "PREALLOCATION"));
    // CACHE_MODE (CDI: "TRYNONE" or unset): O_DIRECT is tried on the target either way (job.hpp);
    // TRYNONE also keeps scratch and spill writes out of the page cache.
    c.spec.cache = cache_mode::try_none;
    c.spec.page_cache_off = env(getenv_fn, "CACHE_MODE") == "TRYNONE";
    c.spec.convert_with = parse_converter(env(getenv_fn, "CDI_CONVERTER"));

    c.http = http_from_env(getenv_fn, environ_entries);
    c.checksum = env(getenv_fn, "IMPORTER_CHECKSUM");
    c.gcs_key_file = env(getenv_fn, "GOOGLE_APPLICATION_CREDENTIALS");
    c.pull_method = env(getenv_fn, "IMPORTER_PULL_METHOD");
    c.registry_architecture = env(getenv_fn, "IMPORTER_REGISTRY_IMAGE_ARCHITECTURE");
    c.ready_file = env(getenv_fn, "IMPORTER_READY_FILE");
    c.done_file = env(getenv_fn, "IMPORTER_DONE_FILE");
    c.metrics_address = env(getenv_fn, "CDI_METRICS_ADDRESS");
    if (auto port = env(getenv_fn, "CDI_METRICS_PORT"); !port.empty()) c.metrics_port = parse_port("CDI_METRICS_PORT", port);
    return c;
}

}  // namespace cdi
