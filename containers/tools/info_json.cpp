#include "containers/tools/info_json.hpp"

#include <array>
#include <cstdint>
#include <cstdio>

namespace cdi {

namespace {

void append_escape(std::string& out, unsigned code) {
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "\\u%04x", code);
    out += buf.data();
}

// Length of the valid UTF-8 sequence at s[0], or 0 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
std::size_t utf8_length(std::string_view s, std::uint32_t& code) {
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        code = b0 & 0x1Fu;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        code = b0 & 0x0Fu;
        min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        code = b0 & 0x07u;
        min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < len) return 0;
    for (std::size_t i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0u) != 0x80u) return 0;
        code = (code << 6) | (b & 0x3Fu);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    while (!text.empty()) {
        const auto c = static_cast<unsigned char>(text[0]);
        if (c < 0x80) {
            if (c == '"') out += "\\\"";
            else if (c == '\\') out += "\\\\";
            else if (c == '\n') out += "\\n";
            else if (c == '\r') out += "\\r";
            else if (c == '\t') out += "\\t";
            else if (c < 0x20 || c == '<' || c == '>' || c == '&') append_escape(out, c);
            else out += static_cast<char>(c);
            text.remove_prefix(1);
            continue;
        }
        std::uint32_t code = 0;
        const std::size_t len = utf8_length(text, code);
        if (len == 0) {
            out += "\\ufffd";
            text.remove_prefix(1);
            continue;
        }
        if (code == 0x2028 || code == 0x2029) append_escape(out, code);
        else out.append(text.substr(0, len));
        text.remove_prefix(len);
    }
    out += '"';
}

std::string environment_json(const char* const* envp) {
    std::string out = "{\"env\":[";
    for (const char* const* e = envp; e && *e; ++e) {
        if (e != envp) out += ',';
        append_json_string(out, *e);
    }
    out += "]}";
    return out;
}

}  // namespace cdi
