#pragma once
// VirtualBox VDI version 1.1, dynamic or static, as qemu's vdi driver accepts it (block/vdi.c):
// 512-byte sectors, 1 MiB blocks, no parent or link UUID (differencing and undo images are refused).
#include "convert/image_reader.hpp"

#include <cstdint>

namespace cdi {

class vdi_header {
public:
    // Reads the header at 0 (signature at 0x40, matched by the caller) and runs every check,
    // including that the block map and every allocated block lie inside the file.
    static result<vdi_header> read(const image_reader& file);

    // qemu's total_sectors: disk_size rounded down to 512.
    std::uint64_t virtual_size() const noexcept { return disk_size_ / 512 * 512; }
    bool is_static() const noexcept { return image_type_ == type_static; }

    static constexpr std::uint32_t signature = 0xbeda107f;
    static constexpr std::uint32_t type_dynamic = 1;
    static constexpr std::uint32_t type_static = 2;
    static constexpr std::uint32_t type_undo = 3;
    static constexpr std::uint32_t type_diff = 4;
    static constexpr std::uint32_t block_size = 1u << 20;
    static constexpr std::uint32_t max_blocks = 0x3fffffff / 4;  // a 1 GiB block map at most, as qemu's VDI_BLOCKS_IN_IMAGE_MAX

private:
    result<void> check_blocks(const image_reader& file) const;

    std::uint32_t image_type_ = 0;
    std::uint32_t offset_bmap_ = 0;
    std::uint32_t offset_data_ = 0;
    std::uint64_t disk_size_ = 0;
    std::uint32_t block_extra_ = 0;
    std::uint32_t blocks_in_image_ = 0;
    std::uint32_t blocks_allocated_ = 0;
};

}  // namespace cdi
