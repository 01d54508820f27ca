#include "containers/tools/byte_range.hpp"

#include "containers/tools/http_request.hpp"

#include <limits>
#include <optional>

namespace cdi {

namespace {

std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        v = v * 10 + digit;
    }
    return v;
}

}  // namespace

byte_range parse_byte_range(std::string_view header, std::uint64_t size) {
    constexpr byte_range whole{};
    constexpr byte_range unsatisfiable{byte_range::kind::unsatisfiable, 0, 0};
    header = trim_ows(header);
    if (!header.starts_with("bytes=")) return whole;
    std::string_view spec = trim_ows(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return whole;
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return unsatisfiable;
    const std::string_view a = trim_ows(spec.substr(0, dash));
    const std::string_view b = trim_ows(spec.substr(dash + 1));
    if (a.empty()) {  // suffix: the last n bytes
        auto n = parse_number(b);
        if (!n || *n == 0 || size == 0) return unsatisfiable;
        const std::uint64_t len = *n < size ? *n : size;
        return {byte_range::kind::part, size - len, size - 1};
    }
    auto first = parse_number(a);
    if (!first || *first >= size) return unsatisfiable;
    std::uint64_t last = size - 1;
    if (!b.empty()) {
        auto end = parse_number(b);
        if (!end || *end < *first) return unsatisfiable;
        if (*end < last) last = *end;
    }
    return {byte_range::kind::part, *first, last};
}

}  // namespace cdi
