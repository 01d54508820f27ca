#include "importer/archive/entry_name.hpp"

namespace cdi {

std::string shown_entry_name(std::string_view s) {
    constexpr std::size_t max_shown = 256;
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < max_shown; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > max_shown) out += "...";
    return out + "\"";
}

error unsafe_entry(std::string_view name, std::string_view why) {
    return make_error(errc::archive_unsafe_entry, "archive entry " + shown_entry_name(name) + " " + std::string(why));
}

std::vector<std::string_view> path_components(std::string_view p) {
    std::vector<std::string_view> out;
    while (!p.empty()) {
        const auto slash = p.find('/');
        const auto part = p.substr(0, slash);
        if (!part.empty() && part != ".") out.push_back(part);
        if (slash == std::string_view::npos) break;
        p.remove_prefix(slash + 1);
    }
    return out;
}

result<std::string> normalize_entry_path(std::string_view entry, std::string_view p, std::string_view what) {
    if (!p.empty() && p.front() == '/') {
        return unsafe_entry(entry, what.empty() ? "is an absolute path" : std::string(what) + " the absolute path " + shown_entry_name(p));
    }
    std::string out;
    for (auto c : path_components(p)) {
        if (c == "..") {
            return unsafe_entry(entry, what.empty() ? "escapes the target directory"
                                                    : std::string(what) + " " + shown_entry_name(p) + ", outside the target directory");
        }
        if (!out.empty()) out += '/';
        out += c;
    }
    return out;
}

}  // namespace cdi
