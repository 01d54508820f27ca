#include "importer/stages/format_sniffer.hpp"

#include "cdi/byte_order.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cdi {

namespace {

// True when `magic` (given as characters) is at `offset` of head.
bool has_at(std::span<const std::byte> head, std::size_t offset, std::string_view magic) {
    if (head.size() < offset || head.size() - offset < magic.size()) return false;
    for (std::size_t i = 0; i < magic.size(); ++i) {
        if (head[offset + i] != static_cast<std::byte>(magic[i])) return false;
    }
    return true;
}

// The single format whose magic sits at offset 0, if any (these magics exclude each other).
std::optional<image_format> sniff_offset0(std::span<const std::byte> head) {
    using namespace std::string_view_literals;
    if (has_at(head, 0, "\x1f\x8b\x08"sv)) return image_format::gzip;
    if (has_at(head, 0, "\xfd" "7zXZ\0"sv)) return image_format::xz;
    if (has_at(head, 0, "\x28\xb5\x2f\xfd"sv)) return image_format::zstd;
    if (has_at(head, 0, "QFI\xfb"sv)) {
        // Version 1 is the old qcow; 2 and 3 are qcow2; anything else goes to the qcow2 inspector,
        // which refuses the version by name (see the header comment).
        if (head.size() >= 8 && load_be32(head, 4) == 1) return image_format::qcow1;
        return image_format::qcow2;
    }
    if (has_at(head, 0, "QED\0"sv)) return image_format::qed;
    if (has_at(head, 0, "KDMV"sv)) return image_format::vmdk;
    if (has_at(head, 0, "# Disk DescriptorFile"sv)) return image_format::vmdk;
    if (has_at(head, 0, "conectix"sv)) return image_format::vhd;
    if (has_at(head, 0, "vhdxfile"sv)) return image_format::vhdx;
    return std::nullopt;
}

// Offsets of ISO 9660 volume descriptors 1-3 ("CD001" follows the type byte of each).
constexpr std::array<std::size_t, 3> iso_offsets{0x8001, 0x8801, 0x9001};

}  // namespace

sniff_result sniff_format(std::span<const std::byte> head) {
    using namespace std::string_view_literals;
    sniff_result r;
    if (auto f = sniff_offset0(head)) r.matches.push_back(*f);
    if (has_at(head, 0x40, "\x7f\x10\xda\xbe"sv)) r.matches.push_back(image_format::vdi);
    if (has_at(head, 0x101, "ustar"sv)) r.matches.push_back(image_format::tar);
    if (std::any_of(iso_offsets.begin(), iso_offsets.end(),
                    [&](std::size_t off) { return has_at(head, off, "CD001"sv); })) {
        r.matches.push_back(image_format::iso);
    }
    if (!r.matches.empty()) r.format = r.matches.front();
    return r;
}

}  // namespace cdi
