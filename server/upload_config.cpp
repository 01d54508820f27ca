#include "server/upload_config.hpp"

#include "importer/pod/environment.hpp"
#include "importer/pod/quantity.hpp"

#include <openssl/tls1.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <charconv>
#include <ctime>
#include <stdexcept>

namespace cdi {
namespace {

// CDI: strconv.ParseFloat, errors → 0 (the upload server does not exit on it).
double lenient_overhead(const std::string& value) {
    double v = 0.0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < 0.0 || v >= 1.0) return 0.0;
    return v;
}

bool lenient_bool(const std::string& value) {
    try {
        return parse_go_bool("PREALLOCATION", value);
    } catch (const std::invalid_argument&) {
        return false;
    }
}

int digits(const std::string& s, std::size_t pos, std::size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

}  // namespace

int parse_tls_version(const std::string& text) {
    // Set but empty: CDI's ocpcrypto.TLSVersion("") fails, CDI drops the error and leaves MinVersion 0,
    // i.e. Go's server default, TLS 1.2 (Go >= 1.22). Unknown non-empty values stay a start-up error.
    if (text.empty()) return TLS1_2_VERSION;
    if (text == "VersionTLS10") return TLS1_VERSION;
    if (text == "VersionTLS11") return TLS1_1_VERSION;
    if (text == "VersionTLS12") return TLS1_2_VERSION;
    if (text == "VersionTLS13") return TLS1_3_VERSION;
    throw std::invalid_argument("TLS_MIN_VERSION \"" + text + "\" is not one of VersionTLS10..VersionTLS13");
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
    const int year = digits(s, 0, 4), mon = digits(s, 5, 2), day = digits(s, 8, 2);
    const int hour = digits(s, 11, 2), min = digits(s, 14, 2), sec = digits(s, 17, 2);
    if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 ||
        min > 59 || sec < 0 || sec > 60)
        return std::nullopt;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return std::nullopt;
    std::size_t pos = 19;
    std::chrono::nanoseconds frac{0};
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        long long ns = 0;
        int n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 9) ns = ns * 10 + (s[pos] - '0'), ++n;
            ++pos;
        }
        if (n == 0) return std::nullopt;
        for (; n < 9; ++n) ns *= 10;
        frac = std::chrono::nanoseconds(ns);
    }
    int offset_min = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
        if (oh < 0 || om < 0 || pos + 3 >= s.size() || s[pos + 3] != ':') return std::nullopt;
        offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    const std::time_t t = ::timegm(&tm);
    auto tp = std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_min);
    return tp + std::chrono::duration_cast<std::chrono::system_clock::duration>(frac);
}

upload_config upload_config::from_env(const env_lookup& getenv_fn) {
    upload_config c;
    c.tls_key_file = env(getenv_fn, "TLS_KEY_FILE");
    c.tls_cert_file = env(getenv_fn, "TLS_CERT_FILE");
    if (c.tls_key_file.empty() || c.tls_cert_file.empty())
        throw std::invalid_argument("E_TLS_CONFIG: TLS_KEY_FILE and TLS_CERT_FILE are required");
    c.client_cert_file = env(getenv_fn, "CLIENT_CERT_FILE");
    c.client_name = env(getenv_fn, "CLIENT_NAME");
    c.tls_ciphers = env(getenv_fn, "TLS_CIPHERS");
    c.tls_min_version = parse_tls_version(env(getenv_fn, "TLS_MIN_VERSION", "VersionTLS12"));
    if (auto d = env(getenv_fn, "DEADLINE"); !d.empty()) {
        c.deadline = parse_rfc3339(d);
        // CDI: klog.Fatalf (exit 255); we exit 1 like every other start-up error (docs/compatibility.md).
        if (!c.deadline) throw std::invalid_argument("DEADLINE \"" + d + "\" is not an RFC 3339 time");
    }
    c.listen_address = env(getenv_fn, "LISTEN_ADDRESS");
    // CDI: strconv.ParseUint(value, 10, 16); an empty or unparsable value keeps the default 8443.
    const std::string port = env(getenv_fn, "LISTEN_PORT");
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (!port.empty() && ec == std::errc{} && end == port.data() + port.size() && p <= 65535)
        c.listen_port = static_cast<std::uint16_t>(p);
    c.termination_log = env(getenv_fn, "CDI_TERMINATION_LOG", "/dev/termination-log");
    if (auto idle = env(getenv_fn, "CDI_TEST_BODY_IDLE_TIMEOUT_MS"); !idle.empty()) {
        unsigned ms = 0;
        auto [iend, iec] = std::from_chars(idle.data(), idle.data() + idle.size(), ms);
        if (iec != std::errc{} || iend != idle.data() + idle.size() || ms == 0) throw std::invalid_argument("CDI_TEST_BODY_IDLE_TIMEOUT_MS \"" + idle + "\" is not a positive integer");
        c.body_idle_timeout = std::chrono::milliseconds(ms);
    }

    const std::filesystem::path data_dir = env(getenv_fn, "CDI_DATA_DIR", "/data");
    c.spec.content = content_type::kubevirt;
    c.spec.data_dir = data_dir;
    const std::string dest = env(getenv_fn, "DESTINATION");
    c.spec.target = dest.empty() ? data_dir / "disk.img" : std::filesystem::path(dest);
    // CDI sets DESTINATION for block PVCs only (/dev/cdi-block-volume): set, it names a block volume,
    // unless it is a file inside CDI_DATA_DIR (our tests and bench use that for file targets).
    const auto in_data = std::filesystem::path(dest).lexically_relative(data_dir);
    c.spec.block_volume = !dest.empty() && (in_data.empty() || *in_data.begin() == "..");
    const std::filesystem::path scratch = env(getenv_fn, "CDI_SCRATCH_DIR", "/scratch");
    struct statfs sfs {};
    if (::statfs(scratch.c_str(), &sfs) == 0) c.spec.scratch_dir = scratch;
    if (auto size = env(getenv_fn, "UPLOAD_IMAGE_SIZE"); !size.empty()) {
        auto bytes = parse_quantity(size);
        if (!bytes) throw std::invalid_argument("UPLOAD_IMAGE_SIZE: " + bytes.error().context);
        c.spec.requested_size = *bytes;
    }
    c.spec.filesystem_overhead = lenient_overhead(env(getenv_fn, "FILESYSTEM_OVERHEAD"));
    c.spec.preallocate = lenient_bool(env(getenv_fn, "PREALLOCATION"));
    c.spec.cache = cache_mode::try_none;  // as the importer (cdi/job.hpp)
    c.spec.convert_with = parse_converter(env(getenv_fn, "CDI_CONVERTER"));
    return c;
}

}  // namespace cdi
