#include "importer/importer_config.hpp"

#include "importer/quantity.hpp"

#include <sys/statfs.h>

#include <charconv>
#include <stdexcept>

namespace cdi {
namespace {

std::string env(const importer_config::env_lookup& getenv_fn, const char* name, const char* fallback = "") {
    const char* v = getenv_fn(name);
    return v ? std::string(v) : std::string(fallback);
}

double parse_overhead(const std::string& value) {
    if (value.empty()) return 0.0;
    double v = 0.0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < 0.0 || v >= 1.0) {
        throw std::invalid_argument("FILESYSTEM_OVERHEAD \"" + value + "\" is not a fraction between 0 and 1");
    }
    return v;
}

}  // namespace

bool parse_go_bool(const std::string& name, const std::string& value) {
    if (value.empty()) return false;
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
        if (value == t) return true;
    }
    for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
        if (value == f) return false;
    }
    throw std::invalid_argument(name + " \"" + value + "\" is not a boolean");
}

importer_config importer_config::from_env(const env_lookup& getenv_fn) {
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
    std::error_code ec;
    c.spec.data_dir = data_dir;
    c.spec.target = std::filesystem::exists(block, ec) ? block : data_dir / "disk.img";

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
    c.spec.cache = env(getenv_fn, "CACHE_MODE") == "TRYNONE" ? cache_mode::try_none : cache_mode::writeback;
    return c;
}

}  // namespace cdi
