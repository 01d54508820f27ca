#include "convert/vdi_header.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint32_t unallocated = 0xffffffff;  // VDI_UNALLOCATED
constexpr std::uint32_t discarded = 0xfffffffe;    // VDI_DISCARDED (reads as zeros)
constexpr std::size_t header_end = 0x1c8;          // through the parent-modification UUID

bool is_null_uuid(std::span<const std::byte> b, std::size_t off) {
    return std::all_of(b.begin() + static_cast<std::ptrdiff_t>(off), b.begin() + static_cast<std::ptrdiff_t>(off + 16),
                       [](std::byte x) { return x == std::byte{0}; });
}

error corrupt(std::string msg) { return make_error(errc::corrupt_image, "vdi " + std::move(msg)); }

}  // namespace

result<vdi_header> vdi_header::read(const image_reader& file) {
    // Layout (little-endian): signature@0x40 version@0x44 header_size@0x48 image_type@0x4c
    // offset_bmap@0x154 offset_data@0x158 sector_size@0x168 disk_size@0x170 block_size@0x178
    // block_extra@0x17c blocks_in_image@0x180 blocks_allocated@0x184 uuid_image@0x188
    // uuid_last_snap@0x198 uuid_link@0x1a8 uuid_parent@0x1b8.
    std::array<std::byte, header_end> b{};
    if (auto r = file.read_at(0, b, "vdi header"); !r) return r.error();
    const std::uint32_t version = load_le32(b, 0x44);
    if (version != 0x00010001) {
        return make_error(errc::bad_image, "vdi version " + std::to_string(version >> 16) + "." + std::to_string(version & 0xffff) + " is not supported");
    }
    vdi_header h;
    h.image_type_ = load_le32(b, 0x4c);
    if (h.image_type_ == type_diff || h.image_type_ == type_undo || !is_null_uuid(b, 0x1b8) || !is_null_uuid(b, 0x1a8)) {
        return make_error(errc::unsafe_image, "vdi differencing image (has a parent) is not allowed");
    }
    if (h.image_type_ != type_dynamic && h.image_type_ != type_static) {
        return make_error(errc::bad_image, "vdi image type " + std::to_string(h.image_type_) + " is not supported");
    }
    h.offset_bmap_ = load_le32(b, 0x154);
    h.offset_data_ = load_le32(b, 0x158);
    const std::uint32_t sector_size = load_le32(b, 0x168);
    h.disk_size_ = load_le64(b, 0x170);
    const std::uint32_t bsize = load_le32(b, 0x178);
    h.block_extra_ = load_le32(b, 0x17c);
    h.blocks_in_image_ = load_le32(b, 0x180);
    h.blocks_allocated_ = load_le32(b, 0x184);
    if (sector_size != 512) return corrupt("sector size " + std::to_string(sector_size) + " is not 512");
    if (bsize != block_size) return make_error(errc::bad_image, "vdi block size " + std::to_string(bsize) + " is not supported (qemu needs 1 MiB)");
    if (h.block_extra_ != 0) return make_error(errc::bad_image, "vdi block extra data of " + std::to_string(h.block_extra_) + " bytes is not supported");
    if (h.offset_bmap_ % 512 != 0 || h.offset_data_ % 512 != 0) return corrupt("block map or data offset is not sector-aligned");
    if (h.blocks_in_image_ > max_blocks) return corrupt("block map of " + std::to_string(h.blocks_in_image_) + " entries is too large");
    if (h.disk_size_ > static_cast<std::uint64_t>(h.blocks_in_image_) * block_size) {
        return corrupt("disk size " + std::to_string(h.disk_size_) + " is larger than its " + std::to_string(h.blocks_in_image_) + " blocks");
    }
    if (h.blocks_allocated_ > h.blocks_in_image_) return corrupt(std::to_string(h.blocks_allocated_) + " allocated blocks of " + std::to_string(h.blocks_in_image_));
    const std::uint64_t bmap_bytes = (static_cast<std::uint64_t>(h.blocks_in_image_) * 4 + 511) / 512 * 512;
    if (h.offset_bmap_ < header_end || h.offset_data_ < static_cast<std::uint64_t>(h.offset_bmap_) + bmap_bytes) {
        return corrupt("block map at " + std::to_string(h.offset_bmap_) + " overlaps the header or the data at " + std::to_string(h.offset_data_));
    }
    if (auto r = h.check_blocks(file); !r) return r.error();
    return h;
}

result<void> vdi_header::check_blocks(const image_reader& file) const {
    // Each allocated block lives at offset_data + index * 1 MiB and must be inside the file.
    const std::uint64_t map_bytes = static_cast<std::uint64_t>(blocks_in_image_) * 4;
    if (!file.contains(offset_bmap_, map_bytes)) {
        return corrupt("image is truncated: block map ends at " + std::to_string(offset_bmap_ + map_bytes) + ", file is " +
                       std::to_string(file.size()) + " bytes");
    }
    std::vector<std::byte> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(map_bytes, 64u << 10)));
    for (std::uint64_t done = 0; done < map_bytes; done += chunk.size()) {
        auto part = std::span(chunk).first(static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), map_bytes - done)));
        if (auto r = file.read_at(offset_bmap_ + done, part, "vdi block map"); !r) return r.error();
        for (std::size_t i = 0; i + 4 <= part.size(); i += 4) {
            const std::uint32_t e = load_le32(part, i);
            if (e == unallocated || e == discarded) continue;
            if (e >= blocks_in_image_) return corrupt("block map entry " + std::to_string(e) + " is out of range");
            const std::uint64_t end = offset_data_ + (static_cast<std::uint64_t>(e) + 1) * block_size;
            if (end > file.size()) {
                return corrupt("image is truncated: block " + std::to_string(e) + " ends at " + std::to_string(end) + ", file is " +
                               std::to_string(file.size()) + " bytes");
            }
        }
    }
    return {};
}

}  // namespace cdi
