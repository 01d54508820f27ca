#pragma once
// The check that makes a streamOptimized VMDK decoded by its grain markers equal what qemu-img
// reads. qemu (block/vmdk.c) never looks at a marker's LBA: it reads guest grain g through the grain
// directory and grain tables (GD[g / gtes] names a table, entry g % gtes names the sector of a grain
// marker, 0 unallocated, 1 a zeroed grain when the header has the zero-grain flag). The decoder writes
// each grain at its marker's LBA; this class accepts the image only when the tables name exactly the
// grains the markers carry, each at its own LBA and once: then both read the same bytes everywhere.
// Anything else (a table naming a sector that holds no marker, a marker no table names, two markers
// for one grain, a table naming one marker twice) is refused: never guessed.
//
// Two layouts, as they arrive in the stream:
// - tables first (qemu-img's: the header names the directory, the tables follow it before the
//   grains): every entry is known before any grain; one u32 per grain of the virtual disk is held
//   (4 bytes per 64 KiB grain: 64 MiB for 1 TiB), bounded by the limit.
// - tables after (VMware's, the header's directory at the end, "GD_AT_END"): grains arrive first and
//   are remembered (sector, grain) until a grain-table marker names them; each table is checked when
//   it passes and only its sector and directory slot are kept; the directory, when it passes, must name
//   each table at that slot. What is held is the grains not yet named by a table (VMware writes a
//   table after every 512 grains at most), bounded by the limit.
// Past the limit: errc::scratch_required (the caller falls back to scratch + qemu-img).
// Thread-safety: none.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace cdi {

struct vmdk_grain_geometry {
    std::uint64_t capacity = 0;     // sectors
    std::uint64_t granularity = 0;  // sectors per grain
    std::uint32_t gtes = 0;         // entries per grain table
    std::uint64_t gd_entries = 0;
    bool zero_grain = false;        // header flag bit 2: entry 1 means a zeroed grain
    std::uint64_t grains() const noexcept { return (capacity + granularity - 1) / granularity; }
};

class vmdk_grain_check {
public:
    // Tables first: the grain table of every directory slot is loaded before the first grain.
    static result<vmdk_grain_check> tables_first(const vmdk_grain_geometry& g, std::uint64_t limit);
    // Tables after: tables and the directory arrive behind the grains they name.
    static vmdk_grain_check tables_after(const vmdk_grain_geometry& g, std::uint64_t limit);

    bool tables_come_first() const noexcept { return first_; }

    // Tables first: the table of directory slot gd_index (gtes little-endian u32 entries).
    void load_table(std::uint64_t gd_index, std::span<const std::byte> gt);
    // A grain marker at stream sector `sector` carrying guest grain `grain` (its LBA / granularity;
    // the caller checked alignment and capacity). Tables first: refused unless the table names it
    // there. Tables after: remembered.
    result<void> grain(std::uint64_t sector, std::uint64_t grain);

    // Tables after: the grain-table marker's data at stream sector `sector`.
    result<void> grain_table(std::uint64_t sector, std::span<const std::byte> gt);
    // Tables after: part of the directory, its entries first..first + bytes/4.
    result<void> directory(std::uint64_t first, std::span<const std::byte> bytes);

    // The stream ended at sector end_sector (or at its end-of-stream marker): every entry the tables
    // hold is matched by a grain and every grain by an entry. A table entry naming a sector at or past
    // the end is errc::truncated; any other mismatch errc::corrupt_image.
    result<void> finish(std::uint64_t end_sector) const;

private:
    struct pending_grain {
        std::uint64_t sector;
        std::uint64_t grain;  // UINT64_MAX once a table named it
    };
    struct seen_table {
        std::uint64_t sector;
        std::optional<std::uint64_t> slot;  // directory slot its grains imply; none: an empty table
        bool named = false;                 // the directory names it
    };
    vmdk_grain_check(const vmdk_grain_geometry& g, std::uint64_t limit, bool first) : geo_(g), limit_(limit), first_(first) {}
    result<void> check_held(std::uint64_t bytes) const;
    bool is_grain_entry(std::uint64_t e) const noexcept { return e > 1 || (e == 1 && !geo_.zero_grain); }

    vmdk_grain_geometry geo_;
    std::uint64_t limit_;
    bool first_;
    // Tables first.
    std::vector<std::uint32_t> table_;  // one entry per grain of the virtual disk; 0 once matched
    // Tables after.
    std::vector<pending_grain> pending_;  // in stream order (so by sector)
    std::vector<seen_table> tables_;      // in stream order
};

}  // namespace cdi
