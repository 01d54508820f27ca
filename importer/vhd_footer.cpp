#include "importer/vhd_footer.hpp"

#include <cstring>

namespace cdi {

namespace {

std::uint64_t be(std::span<const std::byte> p, std::size_t off, std::size_t len) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < len; ++i) v = v << 8 | static_cast<std::uint64_t>(p[off + i]);
    return v;
}

constexpr std::size_t checksum_offset = 64;

}  // namespace

std::optional<vhd_footer> parse_vhd_footer(std::span<const std::byte> bytes512) {
    if (bytes512.size() != vhd_footer_size) return std::nullopt;
    if (std::memcmp(bytes512.data(), "conectix", 8) != 0) return std::nullopt;
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < vhd_footer_size; ++i) {
        if (i >= checksum_offset && i < checksum_offset + 4) continue;
        sum += static_cast<std::uint32_t>(bytes512[i]);
    }
    if (static_cast<std::uint32_t>(~sum) != be(bytes512, checksum_offset, 4)) return std::nullopt;
    return vhd_footer{
        .disk_type = static_cast<std::uint32_t>(be(bytes512, 60, 4)),
        .current_size = be(bytes512, 48, 8),
        .data_offset = be(bytes512, 16, 8),
    };
}

}  // namespace cdi
