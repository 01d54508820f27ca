#pragma once
// VHDX (MS-VHDX): file identifier, the current of the two headers (64 KiB, 128 KiB; valid CRC-32C,
// higher sequence number), the region table at 192 KiB, the metadata items qemu needs (file
// parameters, virtual disk size, logical sector size) and the block allocation table. Differencing
// disks (HasParent, a parent locator) are refused; limits are qemu's (block/vhdx.c).
#include "convert/image_reader.hpp"

#include <array>
#include <cstdint>

namespace cdi {

class vhdx_header {
public:
    // Reads a file that starts with "vhdxfile" and runs every check.
    static result<vhdx_header> read(const image_reader& file);
    // The same checks but the block allocation table's: enough to know the virtual size from the
    // first MiBs of a file being staged (the regions must lie within what is there already).
    static result<vhdx_header> read_geometry(const image_reader& file);

    // qemu's total_sectors: the virtual disk size rounded down to 512.
    std::uint64_t virtual_size() const noexcept { return virtual_size_ / 512 * 512; }
    std::uint32_t block_size() const noexcept { return block_size_; }
    std::uint32_t logical_sector_size() const noexcept { return logical_sector_; }

    // CRC-32C (Castagnoli) as MS-VHDX uses it; exposed so tests can forge valid structures.
    static std::uint32_t crc32c(std::span<const std::byte> data) noexcept;

    using guid = std::array<std::byte, 16>;

private:
    // A byte range of the file that payload blocks must not overlap (headers, log, BAT, metadata).
    struct region {
        std::uint64_t offset;
        std::uint64_t length;
    };
    // Headers, region table and metadata; sets *bat and fills reserved with every region it found.
    static result<vhdx_header> read_regions(const image_reader& file, region& bat, std::array<region, 4>& reserved);
    result<void> read_metadata(const image_reader& file, std::uint64_t offset, std::uint64_t length);
    result<void> check_bat(const image_reader& file, std::span<const region> reserved, std::uint64_t offset, std::uint64_t length) const;

    std::uint64_t virtual_size_ = 0;
    std::uint32_t block_size_ = 0;
    std::uint32_t logical_sector_ = 0;
};

}  // namespace cdi
