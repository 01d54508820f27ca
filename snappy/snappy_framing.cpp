#include "snappy/snappy_framing.hpp"

#include <isa-l/crc.h>

namespace cdi {

std::uint32_t snappy_masked_crc(std::span<const std::byte> data) noexcept {
    // ISA-L's crc32_iscsi neither presets nor inverts: the standard CRC-32C is ~f(~0).
    // Chunks are at most 64 KiB, so len fits its int.
    auto* p = reinterpret_cast<unsigned char*>(const_cast<std::byte*>(data.data()));
    const std::uint32_t crc = ~crc32_iscsi(p, static_cast<int>(data.size()), 0xffffffffu);
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

}  // namespace cdi
