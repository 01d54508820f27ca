#include "importer/stages/checksum.hpp"

#include "cdi/ascii.hpp"

#include <array>
#include <cstdio>

namespace cdi {
namespace {

struct algorithm_entry {
    std::string_view name;
    checksum_algorithm algorithm;
    std::size_t hex_length;
};

constexpr std::array<algorithm_entry, 4> algorithms{{
    {"md5", checksum_algorithm::md5, 32},
    {"sha1", checksum_algorithm::sha1, 40},
    {"sha256", checksum_algorithm::sha256, 64},
    {"sha512", checksum_algorithm::sha512, 128},
}};

const algorithm_entry& entry(checksum_algorithm a) noexcept {
    for (const auto& e : algorithms)
        if (e.algorithm == a) return e;
    return algorithms[2];
}

bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

error invalid(std::string reason) { return make_error(errc::bad_request, "invalid checksum: " + reason); }

// Go's hex.InvalidByteError text: "encoding/hex: invalid byte: U+0067 'g'".
std::string invalid_hex_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    std::array<char, 48> buf{};
    if (u >= 0x20 && u < 0x7f)
        std::snprintf(buf.data(), buf.size(), "encoding/hex: invalid byte: U+%04X '%c'", u, c);
    else
        std::snprintf(buf.data(), buf.size(), "encoding/hex: invalid byte: U+%04X", u);
    return buf.data();
}

}  // namespace

std::string_view checksum_algorithm_name(checksum_algorithm a) noexcept { return entry(a).name; }

std::size_t checksum_hex_length(checksum_algorithm a) noexcept { return entry(a).hex_length; }

result<std::optional<checksum_spec>> checksum_spec::parse(std::string_view text) {
    if (text.empty()) return std::optional<checksum_spec>{};
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return invalid("invalid checksum format: expected 'algorithm:hash', got '" + std::string(text) + "'");
    const std::string name = ascii::trim_lower(text.substr(0, colon));
    std::string hash = ascii::trim_lower(text.substr(colon + 1));
    if (hash.empty()) return invalid("checksum hash value cannot be empty");

    const algorithm_entry* found = nullptr;
    for (const auto& e : algorithms)
        if (e.name == name) found = &e;
    if (found == nullptr)
        return invalid("unsupported hash algorithm '" + name + "': supported algorithms are: md5, sha1, sha256, sha512");
    if (hash.size() != found->hex_length)
        return invalid("invalid " + name + " hash length: expected " + std::to_string(found->hex_length) +
                       " hex characters, got " + std::to_string(hash.size()));
    for (char c : hash)
        if (!is_hex(c)) return invalid("checksum hash is not valid hexadecimal: " + invalid_hex_byte(c));
    return std::optional<checksum_spec>{checksum_spec{found->algorithm, std::move(hash)}};
}

std::string checksum_spec::to_string() const {
    return std::string(checksum_algorithm_name(algorithm)) + ":" + hex;
}

}  // namespace cdi
