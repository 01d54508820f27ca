#pragma once
// ASCII text helpers for protocol and header syntax (HTTP, URLs, checksums, image descriptors).
// Locale-free by contract: only 'A'..'Z' fold, other bytes (UTF-8 included) pass through unchanged,
// so a parse never depends on the process locale.
#include <algorithm>
#include <string>
#include <string_view>

namespace cdi::ascii {

// What each syntax calls blank space. Callers pass the set their syntax defines; the sets differ on
// purpose (HTTP's optional whitespace is not Go's strings.TrimSpace).
inline constexpr std::string_view space = " \t\n\v\f\r";  // C isspace / Go TrimSpace, for ASCII
inline constexpr std::string_view ows = " \t";            // RFC 9110 OWS: space and tab only

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = to_lower(c);
    return out;
}

constexpr std::string_view trim_left(std::string_view s, std::string_view blanks = space) noexcept {
    while (!s.empty() && blanks.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
    return s;
}

constexpr std::string_view trim_right(std::string_view s, std::string_view blanks = space) noexcept {
    while (!s.empty() && blanks.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
    return s;
}

constexpr std::string_view trim(std::string_view s, std::string_view blanks = space) noexcept {
    return trim_right(trim_left(s, blanks), blanks);
}

// trim, then lower: Go's strings.ToLower(strings.TrimSpace(s)) for ASCII input.
inline std::string trim_lower(std::string_view s, std::string_view blanks = space) { return lower(trim(s, blanks)); }

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_lower(a[i]) != to_lower(b[i])) return false;
    return true;
}

// Whether `needle` occurs in `hay`, ignoring ASCII case.
inline bool icontains(std::string_view hay, std::string_view needle) noexcept {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                       [](char a, char b) { return to_lower(a) == to_lower(b); }) != hay.end();
}

}  // namespace cdi::ascii
