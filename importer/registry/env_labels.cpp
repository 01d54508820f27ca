#include "importer/registry/env_labels.hpp"

#include "cdi/ascii.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace cdi {
namespace {

constexpr std::string_view marker = "KUBEVIRT_IO_";

// "A_B_" -> "a.b." ; "DEFAULT_INSTANCETYPE" -> "default-instancetype"
std::string replace_all(std::string s, char from, char to) {
    std::replace(s.begin(), s.end(), from, to);
    return s;
}

}  // namespace

std::map<std::string, std::string> env_labels(const std::vector<std::string>& env_entries) {
    std::map<std::string, std::string> labels;
    for (const auto& entry : env_entries) {
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;  // CDI: only KEY=VALUE entries
        std::string_view key(entry.data(), eq);
        auto at = key.find(marker);
        if (at == std::string_view::npos) continue;
        std::string prefix = replace_all(ascii::lower(key.substr(0, at)), '_', '.');
        std::string suffix = replace_all(ascii::lower(key.substr(at + marker.size())), '_', '-');
        labels[prefix + "kubevirt.io/" + suffix] = entry.substr(eq + 1);
    }
    return labels;
}

result<std::map<std::string, std::string>> env_labels_from_info(std::string_view json_body) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(json_body, ec);
    if (ec || !doc.is_object()) return make_error(errc::bad_request, "the image server's /info is not a JSON object");
    const auto* env = doc.as_object().if_contains("env");
    if (!env || env->is_null()) return std::map<std::string, std::string>{};
    if (!env->is_array()) return make_error(errc::bad_request, "the image server's /info \"env\" is not an array");
    std::vector<std::string> entries;
    for (const auto& v : env->as_array()) {
        if (!v.is_string()) return make_error(errc::bad_request, "the image server's /info \"env\" holds a non-string");
        entries.emplace_back(v.as_string().c_str());
    }
    return env_labels(entries);
}

}  // namespace cdi
