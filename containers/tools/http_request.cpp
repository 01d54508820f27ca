#include "containers/tools/http_request.hpp"

#include <array>
#include <cstdio>

namespace cdi {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_token_char(c)) return false;
    return true;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        auto comma = value.find(',');
        std::string_view item = trim_ows(value.substr(0, comma));
        if (item.size() == token.size()) {
            bool same = true;
            for (std::size_t i = 0; i < item.size() && same; ++i) same = lower(item[i]) == token[i];
            if (same) return true;
        }
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string_view> http_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

bool http_request::keep_alive() const {
    if (has_body()) return false;
    auto connection = header("connection");
    if (minor_version == 0) return connection && has_token(*connection, "keep-alive");
    return !connection || !has_token(*connection, "close");
}

bool http_request::has_body() const {
    if (header("transfer-encoding")) return true;
    auto length = header("content-length");
    return length && *length != "0";
}

std::optional<http_request> parse_request_head(std::string_view head) {
    http_request r;
    bool first = true;
    while (!head.empty()) {
        auto eol = head.find('\n');
        std::string_view line = head.substr(0, eol);
        head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (first) {
            first = false;
            auto sp1 = line.find(' ');
            auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
            if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return std::nullopt;
            r.method = std::string(line.substr(0, sp1));
            r.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
            std::string_view version = line.substr(sp2 + 1);
            if (!is_token(r.method) || r.target.empty()) return std::nullopt;
            if (version == "HTTP/1.1") r.minor_version = 1;
            else if (version == "HTTP/1.0") r.minor_version = 0;
            else return std::nullopt;
            continue;
        }
        if (line.empty()) continue;
        if (line.front() == ' ' || line.front() == '\t') return std::nullopt;  // obsolete line folding
        auto colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return std::nullopt;
        std::string name(line.substr(0, colon));
        for (char& c : name) c = lower(c);
        r.headers.emplace_back(std::move(name), std::string(trim_ows(line.substr(colon + 1))));
    }
    if (first) return std::nullopt;
    return r;
}

std::optional<std::string> request_path(std::string_view target) {
    if (target.starts_with("http://") || target.starts_with("https://")) {
        target.remove_prefix(target.find("//") + 2);
        auto slash = target.find('/');
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (target.empty() || target.front() != '/') return std::nullopt;
    target = target.substr(0, target.find_first_of("?#"));

    std::string decoded;
    decoded.reserve(target.size());
    for (std::size_t i = 0; i < target.size(); ++i) {
        char c = target[i];
        if (c == '%') {
            if (i + 2 >= target.size()) return std::nullopt;
            int hi = hex_value(target[i + 1]), lo = hex_value(target[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') return std::nullopt;
        decoded += c;
    }

    std::vector<std::string_view> parts;
    std::string_view rest = decoded;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    std::string clean;
    for (auto part : parts) {
        clean += '/';
        clean += part;
    }
    if (clean.empty() || decoded.ends_with('/')) clean += '/';
    return clean;
}

std::string http_date(std::time_t t) {
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::array<char, 40> buf{};
    std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[static_cast<std::size_t>(tm.tm_wday) % 7],
                  tm.tm_mday, months[static_cast<std::size_t>(tm.tm_mon) % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf.data();
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace cdi
