#include "convert/vhdx_header.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint64_t header1_offset = 64u << 10;
constexpr std::uint64_t header2_offset = 128u << 10;
constexpr std::uint64_t region_table_offset = 192u << 10;
constexpr std::size_t header_bytes = 4u << 10;
constexpr std::size_t table_bytes = 64u << 10;  // region table and metadata table
constexpr std::uint32_t max_entries = 2047;
constexpr std::uint64_t max_image_size = 64ull << 40;  // qemu's VHDX_MAX_IMAGE_SIZE
constexpr std::uint32_t min_block = 1u << 20, max_block = 256u << 20;
constexpr std::uint32_t has_parent = 1u << 1;
constexpr std::uint32_t required = 1u << 2;  // metadata entry flag IsRequired
constexpr std::uint32_t region_required = 1u << 0;

// A GUID in its on-disk order: the first three fields little-endian, the last eight bytes as written.
constexpr vhdx_header::guid make_guid(std::uint32_t a, std::uint16_t b, std::uint16_t c, std::uint64_t d) {
    vhdx_header::guid g{};
    for (int i = 0; i < 4; ++i) g[static_cast<std::size_t>(i)] = static_cast<std::byte>(a >> (8 * i));
    for (int i = 0; i < 2; ++i) g[static_cast<std::size_t>(4 + i)] = static_cast<std::byte>(b >> (8 * i));
    for (int i = 0; i < 2; ++i) g[static_cast<std::size_t>(6 + i)] = static_cast<std::byte>(c >> (8 * i));
    for (int i = 0; i < 8; ++i) g[static_cast<std::size_t>(8 + i)] = static_cast<std::byte>(d >> (8 * (7 - i)));
    return g;
}
constexpr auto bat_region = make_guid(0x2DC27766, 0xF623, 0x4200, 0x9D64115E9BFD4A08);
constexpr auto metadata_region = make_guid(0x8B7CA206, 0x4790, 0x4B9A, 0xB8FE575F050F886E);
constexpr auto file_parameters = make_guid(0xCAA16737, 0xFA36, 0x4D43, 0xB3B633F0AA44E76B);
constexpr auto virtual_disk_size = make_guid(0x2FA54224, 0xCD1B, 0x4876, 0xB2115DBED83BF4B8);
constexpr auto page83_data = make_guid(0xBECA12AB, 0xB2E6, 0x4523, 0x93EFC309E000C746);
constexpr auto logical_sector_item = make_guid(0x8141BF1D, 0xA96F, 0x4709, 0xBA47F233A8FAAB5F);
constexpr auto physical_sector_size = make_guid(0xCDA348C7, 0x445D, 0x4471, 0x9CC9E9885251C556);
constexpr auto parent_locator = make_guid(0xA8D35F2D, 0xB30B, 0x454D, 0xABF7D3D84834AB0C);

bool guid_at(std::span<const std::byte> b, std::size_t off, const vhdx_header::guid& g) {
    return std::memcmp(b.data() + off, g.data(), g.size()) == 0;
}

error corrupt(std::string msg) { return make_error(errc::corrupt_image, "vhdx " + std::move(msg)); }

// True when buf has the signature and its CRC-32C (computed with the checksum field at 4 zeroed) matches.
bool valid_structure(std::vector<std::byte>& buf, std::string_view sig) {
    if (!bytes_equal(buf, 0, sig)) return false;
    const std::uint32_t stored = load_le32(buf, 4);
    std::array<std::byte, 4> saved{};
    std::memcpy(saved.data(), buf.data() + 4, 4);
    std::memset(buf.data() + 4, 0, 4);
    const bool ok = vhdx_header::crc32c(buf) == stored;
    std::memcpy(buf.data() + 4, saved.data(), 4);
    return ok;
}

}  // namespace

std::uint32_t vhdx_header::crc32c(std::span<const std::byte> data) noexcept {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t crc = ~0u;
    for (std::byte b : data) crc = table[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xff] ^ (crc >> 8);
    return ~crc;
}

result<vhdx_header> vhdx_header::read(const image_reader& file) {
    region bat{};
    std::array<region, 4> reserved{};
    auto h = read_regions(file, bat, reserved);
    if (!h) return h.error();
    if (auto r = h->check_bat(file, reserved, bat.offset, bat.length); !r) return r.error();
    return h;
}

result<vhdx_header> vhdx_header::read_geometry(const image_reader& file) {
    region bat{};
    std::array<region, 4> reserved{};
    return read_regions(file, bat, reserved);
}

result<vhdx_header> vhdx_header::read_regions(const image_reader& file, region& bat, std::array<region, 4>& reserved) {
    // Headers: signature "head"@0, checksum@4, sequence_number@8, log_guid@48, version@66.
    std::vector<std::byte> h1(header_bytes), h2(header_bytes);
    if (auto r = file.read_at(header1_offset, h1, "vhdx header 1"); !r) return r.error();
    if (auto r = file.read_at(header2_offset, h2, "vhdx header 2"); !r) return r.error();
    const bool ok1 = valid_structure(h1, "head"), ok2 = valid_structure(h2, "head");
    if (!ok1 && !ok2) return corrupt("has no valid header (signature or CRC-32C wrong in both)");
    const auto& cur = (ok1 && (!ok2 || load_le64(h1, 8) >= load_le64(h2, 8))) ? h1 : h2;
    if (const std::uint16_t version = load_le16(cur, 66); version != 1) {
        return make_error(errc::bad_image, "vhdx version " + std::to_string(version) + " is not supported");
    }

    // Region table: signature "regi"@0, checksum@4, entry_count@8; entries from 16, 32 bytes each:
    // guid@0, file_offset@16, length@24, required@28.
    std::vector<std::byte> rt(table_bytes);
    if (auto r = file.read_at(region_table_offset, rt, "vhdx region table"); !r) return r.error();
    if (!valid_structure(rt, "regi")) return corrupt("region table signature or CRC-32C is wrong");
    const std::uint32_t count = load_le32(rt, 8);
    if (count > max_entries) return corrupt("region table of " + std::to_string(count) + " entries is too large");
    std::uint64_t bat_off = 0, bat_len = 0, md_off = 0, md_len = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::size_t e = 16 + std::size_t{i} * 32;
        const std::uint64_t off = load_le64(rt, e + 16);
        const std::uint32_t len = load_le32(rt, e + 24);
        if (off % (1u << 20) != 0 || !file.contains(off, len)) {
            return corrupt("region at " + std::to_string(off) + " of " + std::to_string(len) + " bytes is misaligned or past the end of the file (" +
                           std::to_string(file.size()) + " bytes)");
        }
        if (guid_at(rt, e, bat_region)) {
            bat_off = off, bat_len = len;
        } else if (guid_at(rt, e, metadata_region)) {
            md_off = off, md_len = len;
        } else if (load_le32(rt, e + 28) & region_required) {
            return make_error(errc::bad_image, "vhdx has an unknown required region");
        }
    }
    if (bat_len == 0 || md_len == 0) return corrupt("region table lacks the block allocation table or the metadata region");
    vhdx_header h;
    if (auto r = h.read_metadata(file, md_off, md_len); !r) return r.error();
    reserved = {{{0, 1u << 20}, {load_le64(cur, 72), load_le32(cur, 68)}, {bat_off, bat_len}, {md_off, md_len}}};
    bat = {bat_off, bat_len};
    return h;
}

result<void> vhdx_header::read_metadata(const image_reader& file, std::uint64_t offset, std::uint64_t length) {
    // Metadata table: signature "metadata"@0, entry_count@10; entries from 32, 32 bytes each:
    // item_id@0, offset@16 (from the region start), length@20, flags@24.
    if (length < table_bytes) return corrupt("metadata region of " + std::to_string(length) + " bytes is too small");
    std::vector<std::byte> t(table_bytes);
    if (auto r = file.read_at(offset, t, "vhdx metadata table"); !r) return r.error();
    if (!bytes_equal(t, 0, "metadata")) return corrupt("metadata table signature is missing");
    const std::uint16_t count = load_le16(t, 10);
    if (count > max_entries) return corrupt("metadata table of " + std::to_string(count) + " entries is too large");
    bool have_params = false, have_size = false, have_sector = false;
    std::uint32_t params = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::size_t e = 32 + std::size_t{i} * 32;
        const std::uint32_t item_off = load_le32(t, e + 16), item_len = load_le32(t, e + 20);
        if (guid_at(t, e, parent_locator)) return make_error(errc::unsafe_image, "vhdx parent locator (differencing disk) is not allowed");
        std::array<std::byte, 8> v{};
        const bool wanted = guid_at(t, e, file_parameters) || guid_at(t, e, virtual_disk_size) || guid_at(t, e, logical_sector_item);
        if (wanted) {
            const std::size_t need = guid_at(t, e, logical_sector_item) ? 4 : 8;
            if (item_len < need || item_off < table_bytes || item_off > length || need > length - item_off) {
                return corrupt("metadata item at " + std::to_string(item_off) + " of " + std::to_string(item_len) + " bytes is out of its region");
            }
            if (auto r = file.read_at(offset + item_off, std::span(v).first(need), "vhdx metadata item"); !r) return r.error();
        }
        if (guid_at(t, e, file_parameters)) {
            block_size_ = load_le32(v, 0), params = load_le32(v, 4), have_params = true;
        } else if (guid_at(t, e, virtual_disk_size)) {
            virtual_size_ = load_le64(v, 0), have_size = true;
        } else if (guid_at(t, e, logical_sector_item)) {
            logical_sector_ = load_le32(v, 0), have_sector = true;
        } else if (!guid_at(t, e, page83_data) && !guid_at(t, e, physical_sector_size) && (load_le32(t, e + 24) & required)) {
            return make_error(errc::bad_image, "vhdx has an unknown required metadata item");
        }
    }
    if (params & has_parent) return make_error(errc::unsafe_image, "vhdx differencing disk (HasParent) is not allowed");
    if (!have_params || !have_size || !have_sector) return corrupt("metadata lacks file parameters, virtual disk size or logical sector size");
    if (block_size_ < min_block || block_size_ > max_block || (block_size_ & (block_size_ - 1)) != 0) {
        return corrupt("block size " + std::to_string(block_size_) + " is invalid");
    }
    if (logical_sector_ != 512 && logical_sector_ != 4096) return corrupt("logical sector size " + std::to_string(logical_sector_) + " is invalid");
    if (virtual_size_ > max_image_size) return corrupt("virtual disk size " + std::to_string(virtual_size_) + " is larger than 64 TiB");
    return {};
}

result<void> vhdx_header::check_bat(const image_reader& file, std::span<const region> reserved, std::uint64_t offset,
                                    std::uint64_t length) const {
    // One payload entry per block, with a sector-bitmap entry after every chunk_ratio of them.
    // Present payload blocks (state 6 full, 7 partial) must lie inside the file and, as qemu's
    // vhdx_region_check requires, outside the headers, log, BAT and metadata.
    const std::uint64_t chunk_ratio = (std::uint64_t{1} << 23) * logical_sector_ / block_size_;
    const std::uint64_t blocks = (virtual_size_ + block_size_ - 1) / block_size_;
    const std::uint64_t entries = blocks == 0 ? 0 : blocks + (blocks - 1) / chunk_ratio;
    if (entries * 8 > length) return corrupt("block allocation table of " + std::to_string(length) + " bytes is too small");
    std::vector<std::byte> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(entries * 8, 64u << 10)));
    for (std::uint64_t done = 0; done < entries * 8; done += chunk.size()) {
        auto part = std::span(chunk).first(static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), entries * 8 - done)));
        if (auto r = file.read_at(offset + done, part, "vhdx block allocation table"); !r) return r.error();
        for (std::size_t i = 0; i + 8 <= part.size(); i += 8) {
            const std::uint64_t index = (done + i) / 8;
            if ((index + 1) % (chunk_ratio + 1) == 0) continue;  // sector bitmap entry
            const std::uint64_t e = load_le64(part, i);
            const std::uint64_t state = e & 7, off = e & ~0xfffffull;
            if (state != 6 && state != 7) continue;
            if (!file.contains(off, block_size_)) {
                return corrupt("image is truncated: block at " + std::to_string(off) + " ends past the end of the file (" +
                               std::to_string(file.size()) + " bytes)");
            }
            for (const region& r : reserved) {
                if (off < r.offset + r.length && r.offset < off + block_size_) {
                    return corrupt("block at " + std::to_string(off) + " overlaps the region at " + std::to_string(r.offset));
                }
            }
        }
    }
    return {};
}

}  // namespace cdi
