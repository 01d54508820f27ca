#pragma once
// VHD (qemu's "vpc"): the 512-byte "conectix" footer, at offset 0 (a copy, for dynamic disks) or at
// the end of the file (fixed disks), and for dynamic disks the "cxsparse" header and block
// allocation table. Differencing disks (type 4: a parent named in the header) are refused.
#include "convert/image_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace cdi {

// The footer alone, for a stream whose end is known only after it was written: a fixed VHD is raw
// data followed by this 512-byte footer, so it cannot be sniffed from its head (the import job
// checks the last 512 bytes of what it wrote). Layout (big-endian): cookie "conectix" 0, data offset
// 16 (all ones for a fixed disk), current size 48, disk type 60, checksum 64.
inline constexpr std::size_t vhd_footer_size = 512;

struct vhd_footer {
    std::uint32_t disk_type;     // 2 fixed, 3 dynamic, 4 differencing (other values: not checked here)
    std::uint64_t current_size;  // the virtual disk size in bytes
    std::uint64_t data_offset;   // offset of the dynamic header; 0xFFFFFFFFFFFFFFFF for a fixed disk
};

// nullopt unless bytes512 is exactly 512 bytes with the "conectix" cookie and a valid checksum.
std::optional<vhd_footer> parse_vhd_footer(std::span<const std::byte> bytes512);

class vhd_header {
public:
    // Reads the footer at 0, or at the end when offset 0 has none, and runs every check.
    static result<vhd_header> read(const image_reader& file);

    // The size `qemu-img info -f vpc` reports, by qemu's rule (block/vpc.c vpc_open): CHS geometry
    // (cylinders * heads * sectors * 512) unless the creator is one that writes an exact
    // current_size ("win ", "qem2", "d2v ", "CTXS", "tap\0") or the geometry is the maximum, in
    // which case current_size. qemu-img itself writes "qemu" (CHS) unless force_size=on ("qem2").
    std::uint64_t virtual_size() const noexcept { return virtual_size_; }
    bool is_fixed() const noexcept { return disk_type_ == type_fixed; }

    static constexpr std::uint32_t type_fixed = 2;
    static constexpr std::uint32_t type_dynamic = 3;
    static constexpr std::uint32_t type_differencing = 4;
    static constexpr std::uint64_t max_sectors = 0xff000000ull;  // qemu's VHD_MAX_SECTORS (2040 GiB)

    // The footer checksum: one's complement of the byte sum with the checksum field read as zero.
    static std::uint32_t checksum(std::span<const std::byte> footer) noexcept;

    // virtual_size()'s rule, in sectors, on a 512-byte footer whose cookie and checksum were
    // checked (no limit applied: callers compare with max_sectors). Shared with convert/declared_size.
    static std::uint64_t sectors_by_qemu_rule(std::span<const std::byte> footer) noexcept;

private:
    result<void> check_dynamic(const image_reader& file, std::uint64_t data_offset);

    std::uint32_t disk_type_ = 0;
    std::uint64_t virtual_size_ = 0;
};

}  // namespace cdi
