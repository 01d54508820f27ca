#include "convert/declared_size.hpp"

#include "convert/vdi_header.hpp"
#include "convert/vhd_header.hpp"

namespace cdi {
namespace {

std::optional<std::uint64_t> vdi_size(std::span<const std::byte> head) noexcept {
    // signature@0x40, version@0x44 (1.1), sector_size@0x168, disk_size@0x170 (vdi_header.cpp).
    if (head.size() < 0x178 || load_le32(head, 0x40) != vdi_header::signature) return std::nullopt;
    if (load_le32(head, 0x44) != 0x00010001 || load_le32(head, 0x168) != 512) return std::nullopt;
    return load_le64(head, 0x170) / 512 * 512;
}

std::optional<std::uint64_t> vhd_size(std::span<const std::byte> head) noexcept {
    if (head.size() < vhd_footer_size) return std::nullopt;
    const auto footer = head.first(vhd_footer_size);
    const auto parsed = parse_vhd_footer(footer);
    if (!parsed || parsed->disk_type != vhd_header::type_dynamic) return std::nullopt;
    const std::uint64_t sectors = vhd_header::sectors_by_qemu_rule(footer);
    if (sectors > vhd_header::max_sectors) return std::nullopt;  // the inspector refuses it with its reason
    return sectors * 512;
}

}  // namespace

std::optional<std::uint64_t> declared_virtual_size(image_format format, std::span<const std::byte> head) noexcept {
    switch (format) {
    case image_format::vdi: return vdi_size(head);
    case image_format::vhd: return vhd_size(head);
    default: return std::nullopt;
    }
}

}  // namespace cdi
