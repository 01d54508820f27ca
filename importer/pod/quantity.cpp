#include "importer/pod/quantity.hpp"

#include <cctype>
#include <string>

namespace cdi {
namespace {

__extension__ typedef unsigned __int128 u128;
constexpr u128 limit = static_cast<u128>(UINT64_MAX);

struct suffix {
    std::string_view text;
    int pow2;   // multiply by 2^pow2
    int pow10;  // and by 10^pow10
};
constexpr suffix suffixes[] = {
    {"Ki", 10, 0}, {"Mi", 20, 0}, {"Gi", 30, 0}, {"Ti", 40, 0}, {"Pi", 50, 0}, {"Ei", 60, 0},
    {"n", 0, -9},  {"u", 0, -6},  {"m", 0, -3},  {"k", 0, 3},   {"M", 0, 6},   {"G", 0, 9},
    {"T", 0, 12},  {"P", 0, 15},  {"E", 0, 18},
};

error bad(std::string_view text, std::string_view why) {
    return make_error(errc::bad_request, "invalid quantity \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

result<std::uint64_t> parse_quantity(std::string_view text) {
    std::string_view s = text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return bad(text, "empty");
    if (s.front() == '-') return bad(text, "negative");

    // Mantissa: digits with at most one decimal point; at most 30 significant digits.
    u128 digits = 0;
    int frac_len = 0;
    int count = 0;
    bool seen_point = false;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '.' && !seen_point) {
            seen_point = true;
            continue;
        }
        if (!std::isdigit(static_cast<unsigned char>(c))) break;
        if (++count > 30) return bad(text, "too many digits");
        digits = digits * 10 + static_cast<unsigned>(c - '0');
        if (seen_point) ++frac_len;
    }
    if (count == 0) return bad(text, "no digits");

    int pow2 = 0;
    int pow10 = -frac_len;
    std::string_view rest = s.substr(i);
    if (!rest.empty() && (rest.front() == 'e' || rest.front() == 'E') && rest.size() > 1 &&
        (std::isdigit(static_cast<unsigned char>(rest[1])) || rest[1] == '-' || rest[1] == '+')) {
        std::size_t j = 1;
        bool neg = false;
        if (rest[j] == '-' || rest[j] == '+') neg = rest[j++] == '-';
        int e = 0;
        if (j >= rest.size()) return bad(text, "empty exponent");
        for (; j < rest.size(); ++j) {
            if (!std::isdigit(static_cast<unsigned char>(rest[j]))) return bad(text, "bad exponent");
            e = e * 10 + (rest[j] - '0');
            if (e > 40) return bad(text, "exponent out of range");
        }
        pow10 += neg ? -e : e;
        rest = {};
    } else if (!rest.empty()) {
        bool found = false;
        for (const auto& sfx : suffixes) {
            if (rest == sfx.text) {
                pow2 = sfx.pow2;
                pow10 += sfx.pow10;
                found = true;
                break;
            }
        }
        if (!found) return bad(text, "unknown suffix");
    }

    u128 value = digits;
    for (int k = 0; k < pow2; ++k) {
        value <<= 1;
        if (value > limit) return bad(text, "larger than 2^64-1 bytes");
    }
    for (int k = 0; k < pow10; ++k) {
        value *= 10;
        if (value > limit) return bad(text, "larger than 2^64-1 bytes");
    }
    if (pow10 < 0) {
        u128 divisor = 1;
        for (int k = 0; k < -pow10; ++k) divisor *= 10;
        value = (value + divisor - 1) / divisor;  // Quantity.Value() rounds up
    }
    return static_cast<std::uint64_t>(value);
}

}  // namespace cdi
