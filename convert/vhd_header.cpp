#include "convert/vhd_header.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint64_t max_geometry = 65535ull * 16 * 255;  // qemu's VHD_MAX_GEOMETRY
constexpr std::uint32_t bat_unused = 0xffffffff;
constexpr std::uint64_t max_bat_bytes = 32u << 20;  // 2040 GiB in 512 KiB blocks needs 16 MiB

error corrupt(std::string msg) { return make_error(errc::corrupt_image, "vhd " + std::move(msg)); }

}  // namespace

std::uint32_t vhd_header::checksum(std::span<const std::byte> footer) noexcept {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < footer.size(); ++i) {
        if (i >= 64 && i < 68) continue;
        sum += std::to_integer<std::uint32_t>(footer[i]);
    }
    return ~sum;
}

std::uint64_t vhd_header::sectors_by_qemu_rule(std::span<const std::byte> f) noexcept {
    // creator_app@28, current_size@48, cylinders@56 (16 bit), heads@58, sectors@59.
    std::uint64_t sectors = std::uint64_t{load_be16(f, 56)} * std::to_integer<std::uint64_t>(f[58]) * std::to_integer<std::uint64_t>(f[59]);
    const bool exact_size_creator = bytes_equal(f, 28, "win ") || bytes_equal(f, 28, "qem2") || bytes_equal(f, 28, "d2v ") ||
                                    bytes_equal(f, 28, "CTXS") || bytes_equal(f, 28, std::string_view("tap\0", 4));
    if (exact_size_creator || sectors == max_geometry) sectors = load_be64(f, 48) / 512;
    return sectors;
}

std::optional<vhd_footer> parse_vhd_footer(std::span<const std::byte> bytes512) {
    if (bytes512.size() != vhd_footer_size || !bytes_equal(bytes512, 0, "conectix")) return std::nullopt;
    if (load_be32(bytes512, 64) != vhd_header::checksum(bytes512)) return std::nullopt;
    return vhd_footer{
        .disk_type = load_be32(bytes512, 60),
        .current_size = load_be64(bytes512, 48),
        .data_offset = load_be64(bytes512, 16),
    };
}

result<vhd_header> vhd_header::read(const image_reader& file) {
    // Footer (big-endian): cookie@0 "conectix", data_offset@16, creator_app@28, current_size@48,
    // cylinders@56 (16 bit), heads@58, sectors@59, disk_type@60, checksum@64.
    std::array<std::byte, 512> f{};
    if (auto r = file.read_at(0, f, "vhd footer"); !r) return r.error();
    bool at_end = false;
    if (!bytes_equal(f, 0, "conectix")) {
        if (auto r = file.read_at(file.size() - 512, f, "vhd footer"); !r) return r.error();
        if (!bytes_equal(f, 0, "conectix")) return corrupt("footer \"conectix\" is missing");
        at_end = true;
    }
    if (load_be32(f, 64) != checksum(f)) return corrupt("footer checksum is incorrect");
    vhd_header h;
    h.disk_type_ = load_be32(f, 60);
    if (h.disk_type_ == type_differencing) return make_error(errc::unsafe_image, "vhd differencing disk (has a parent) is not allowed");
    // qemu takes a footer found only at the end for a fixed disk's and refuses any other type there.
    if (at_end && h.disk_type_ != type_fixed) return corrupt("footer at the end of the file is not a fixed disk's and offset 0 has none");
    if (h.disk_type_ != type_fixed && h.disk_type_ != type_dynamic) {
        return make_error(errc::bad_image, "vhd disk type " + std::to_string(h.disk_type_) + " is not supported");
    }
    const std::uint64_t sectors = sectors_by_qemu_rule(f);
    if (sectors > max_sectors) return corrupt("disk of " + std::to_string(sectors) + " sectors is larger than 2040 GiB");
    h.virtual_size_ = sectors * 512;
    if (h.disk_type_ == type_fixed) {
        // Fixed: raw data then the footer; qemu reads past-the-end sectors as an error.
        if (file.size() - 512 < h.virtual_size_) {
            return corrupt("image is truncated: fixed disk of " + std::to_string(h.virtual_size_) + " bytes in a file of " +
                           std::to_string(file.size()) + " bytes");
        }
        return h;
    }
    if (auto r = h.check_dynamic(file, load_be64(f, 16)); !r) return r.error();
    return h;
}

result<void> vhd_header::check_dynamic(const image_reader& file, std::uint64_t data_offset) {
    // Dynamic header (big-endian): cookie@0 "cxsparse", table_offset@16, max_table_entries@28,
    // block_size@32, parent_uuid@40, parent_name@64, parent locators@576.
    std::array<std::byte, 1024> d{};
    if (auto r = file.read_at(data_offset, d, "vhd dynamic disk header"); !r) return r.error();
    if (!bytes_equal(d, 0, "cxsparse")) return corrupt("dynamic disk header \"cxsparse\" is missing");
    const std::uint64_t table_offset = load_be64(d, 16);
    const std::uint32_t entries = load_be32(d, 28);
    const std::uint32_t block_size = load_be32(d, 32);
    if (block_size < 512 || (block_size & (block_size - 1)) != 0) return corrupt("block size " + std::to_string(block_size) + " is invalid");
    const std::uint64_t needed = (virtual_size_ + block_size - 1) / block_size;
    if (entries < needed) {
        return corrupt("block table of " + std::to_string(entries) + " entries is too small for " + std::to_string(virtual_size_) + " bytes");
    }
    const std::uint64_t bat_bytes = std::uint64_t{entries} * 4;
    if (bat_bytes > max_bat_bytes) return corrupt("block table of " + std::to_string(entries) + " entries is too large");
    if (!file.contains(table_offset, bat_bytes)) {
        return corrupt("image is truncated: block table ends at " + std::to_string(table_offset + bat_bytes) + ", file is " +
                       std::to_string(file.size()) + " bytes");
    }
    // Each allocated block: a sector bitmap (rounded to 512) then the data, inside the file.
    const std::uint64_t bitmap = (block_size / (8 * 512) + 511) / 512 * 512;
    std::vector<std::byte> chunk(static_cast<std::size_t>(std::min<std::uint64_t>(bat_bytes, 64u << 10)));
    for (std::uint64_t done = 0; done < bat_bytes; done += chunk.size()) {
        auto part = std::span(chunk).first(static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bat_bytes - done)));
        if (auto r = file.read_at(table_offset + done, part, "vhd block table"); !r) return r.error();
        for (std::size_t i = 0; i + 4 <= part.size(); i += 4) {
            const std::uint32_t e = load_be32(part, i);
            if (e == bat_unused) continue;
            const std::uint64_t end = std::uint64_t{e} * 512 + bitmap + block_size;
            if (end > file.size()) {
                return corrupt("image is truncated: block at sector " + std::to_string(e) + " ends at " + std::to_string(end) +
                               ", file is " + std::to_string(file.size()) + " bytes");
            }
        }
    }
    return {};
}

}  // namespace cdi
