#pragma once
// VMDK, the only two subformats that are one self-contained file: monolithicSparse and
// streamOptimized ("KDMV" sparse header with an embedded descriptor). A text descriptor file
// (monolithicFlat, twoGbMaxExtent*, vmfs, ...) names other files as extents and is refused, as is an
// embedded descriptor with any line outside the known keys (CVE-2022-47951; oslo check_descriptor).
// Beyond that descriptor, what qemu itself reads is refused the way qemu reads it: "parentFileNameHint"
// anywhere in the 20 sectors at byte 0x200 (up to the first NUL), and a zero capacity with a
// descriptor offset (qemu then parses that descriptor as a descriptor file and opens its extents).
#include "convert/image_reader.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cdi {

class vmdk_header {
public:
    // Reads a file that starts with "KDMV", "COWD" or descriptor text, and runs every check.
    static result<vmdk_header> read(const image_reader& file);

    // Checks an embedded descriptor line by line: known keys only, parentCID ffffffff, createType
    // monolithicSparse or streamOptimized, exactly one SPARSE extent with a plain file name.
    // Returns the createType.
    static result<std::string> check_descriptor(std::string_view text);

    // One "KDMV" sector (the first, or a streamOptimized footer's header) checked as read() checks it
    // (version, newline bytes, capacity, grain and table sizes; zero capacity with a descriptor
    // offset refused): for the stream decoder, which has no image_reader. where names it in errors.
    static result<vmdk_header> parse_sector(std::span<const std::byte> sector, std::string_view where);
    // qemu's parentFileNameHint rule over the bytes at 0x200 (qemu_desc_size of them, zeros past the
    // end of the file): errc::unsafe_image when the hint is there.
    static result<void> check_parent_hint(std::span<const std::byte> desc_area);
    // qemu's vmdk_open also reads "CID" and "parentCID" there (strstr, then a hex number one character
    // past the name) and refuses to open the image without them: errc::corrupt_image, as qemu would.
    static result<void> check_qemu_cids(std::span<const std::byte> desc_area);
    // Whether qemu's open can read a backup (redundant) grain directory of gd_bytes at rgd_sectors.
    static bool qemu_reads_backup_directory(std::uint64_t rgd_sectors, std::uint64_t gd_bytes) noexcept;
    static constexpr std::uint64_t qemu_desc_at = 0x200;
    static constexpr std::size_t qemu_desc_size = 20 * 512;

    std::uint64_t virtual_size() const noexcept { return capacity_ * 512; }
    std::uint32_t flags() const noexcept { return flags_; }
    std::uint64_t capacity() const noexcept { return capacity_; }        // sectors
    std::uint64_t granularity() const noexcept { return granularity_; }  // sectors per grain
    std::uint32_t gtes_per_gt() const noexcept { return gtes_per_gt_; }
    std::uint64_t gd_offset() const noexcept { return gd_offset_; }        // sectors
    std::uint64_t grain_offset() const noexcept { return grain_offset_; }  // sectors
    std::uint64_t desc_offset() const noexcept { return desc_offset_; }    // sectors
    std::uint64_t desc_size() const noexcept { return desc_size_; }        // sectors
    std::uint64_t gd_entries() const noexcept { return gd_entries_; }
    std::uint16_t compress_algorithm() const noexcept { return compress_algorithm_; }
    const std::string& create_type() const noexcept { return create_type_; }

    static constexpr std::uint64_t max_descriptor_bytes = 1u << 20;  // as oslo's inspector
    static constexpr std::uint64_t max_gd_bytes = 32u << 20;

private:
    result<void> parse(std::span<const std::byte> hdr, std::string_view where);
    result<void> check_grains(const image_reader& file) const;

    std::uint32_t version_ = 0;
    std::uint32_t flags_ = 0;
    std::uint64_t capacity_ = 0;     // sectors
    std::uint64_t granularity_ = 0;  // sectors per grain
    std::uint64_t desc_offset_ = 0;  // sectors
    std::uint64_t desc_size_ = 0;    // sectors
    std::uint32_t gtes_per_gt_ = 0;
    std::uint64_t rgd_offset_ = 0;   // sectors
    std::uint64_t gd_offset_ = 0;    // sectors
    std::uint64_t grain_offset_ = 0; // sectors: the header's "overhead", where grains may start
    std::uint64_t gd_entries_ = 0;
    std::uint16_t compress_algorithm_ = 0;
    bool compressed_ = false;
    std::string create_type_;
};

}  // namespace cdi
