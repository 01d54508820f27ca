#include "importer/pod/environment.hpp"

#include <charconv>
#include <stdexcept>

namespace cdi {

std::string env(const env_lookup& getenv_fn, const char* name, const char* fallback) {
    const char* v = getenv_fn(name);
    return v ? std::string(v) : std::string(fallback);
}

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

unsigned short parse_port(const std::string& name, const std::string& value) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
    if (ec != std::errc{} || p != value.data() + value.size() || port > 65535) {
        throw std::invalid_argument(name + " \"" + value + "\" is not a port number");
    }
    return static_cast<unsigned short>(port);
}

converter parse_converter(const std::string& value) {
    if (value.empty() || value == "stream") return converter::stream;
    if (value == "qemu-img") return converter::qemu_img;
    throw std::invalid_argument("CDI_CONVERTER \"" + value + "\" is neither \"stream\" nor \"qemu-img\"");
}

}  // namespace cdi
