#pragma once
// The 512-byte VHD footer (Microsoft "Virtual Hard Disk Image Format Specification"): at the end
// of every VHD, and also at offset 0 of dynamic and differencing ones. A fixed VHD has it only at
// the end, so it cannot be sniffed from the head of a stream; the import job checks the last 512
// bytes where the size is known.
//
// Layout (all fields big-endian): cookie "conectix" 0, features 8, file format version 12,
// data offset 16 (u64; all ones for a fixed disk), timestamp 24, creator application 28, creator
// version 32, creator host OS 36, original size 40 (u64), current size 48 (u64), geometry 56,
// disk type 60 (u32), checksum 64 (u32), unique id 68, saved state 84, reserved 85..511.
// Checksum: the one's complement of the sum of all 512 bytes with the checksum field taken as zero.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace cdi {

inline constexpr std::size_t vhd_footer_size = 512;

struct vhd_footer {
    std::uint32_t disk_type;     // 2 fixed, 3 dynamic, 4 differencing (other values: not checked here)
    std::uint64_t current_size;  // the virtual disk size in bytes
    std::uint64_t data_offset;   // offset of the dynamic header; 0xFFFFFFFFFFFFFFFF for a fixed disk
};

// nullopt unless bytes512 is exactly 512 bytes with the "conectix" cookie and a valid checksum.
std::optional<vhd_footer> parse_vhd_footer(std::span<const std::byte> bytes512);

}  // namespace cdi
