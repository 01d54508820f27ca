#pragma once
// Where a qcow2 image's structures sit in the file, for decoding it in file order (issue 14).
//
// qemu-img (7.2) writes, in file order: the header cluster, the refcount table, the first refcount
// block, the L1 table, then for each L2 range the L2 table followed by the data it maps (qemu
// allocates an L2 table at the first write into its range), with refcount blocks interleaved as the
// file grows. Compressed (-c, zlib or zstd), extended-L2 and v2 images keep that order. So a stream
// can be decoded with almost nothing held back; what arrives before the table that maps it (an L1
// moved to the end by a resize, a hand-made layout) goes to the bounded window.
//
// qcow2_geometry is the header reduced to what the decoder needs (a pure function of it);
// host_claims records which bytes of the file each structure uses, and refuses overlaps.
#include "convert/qcow2_header.hpp"

#include <bit>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace cdi {

struct qcow2_geometry {
    std::uint32_t cluster_bits = 0;
    std::uint64_t cluster_size = 0;
    std::uint64_t virtual_size = 0;
    std::uint64_t l1_offset = 0;
    std::uint64_t l1_bytes = 0;          // l1_entries * 8
    std::uint32_t l1_entries = 0;
    std::uint64_t reftable_offset = 0;
    std::uint64_t reftable_bytes = 0;
    bool extended_l2 = false;
    bool zero_clusters = true;           // version 3: an L2 entry may say "reads as zeros"; qemu calls it corrupt in version 2
    std::uint32_t l2_entry_bytes = 8;    // 16 with extended L2 (entry + subcluster bitmap)
    std::uint64_t l2_entries = 0;        // entries per L2 table (one cluster)
    std::uint64_t subcluster_size = 0;   // cluster_size / 32 with extended L2, else cluster_size
    std::uint8_t compression_type = 0;   // 0 zlib (raw deflate), 1 zstd
    std::uint32_t csize_shift = 0;       // compressed entry: host offset below this bit, sector count above

    // Guest bytes one L2 table maps.
    std::uint64_t l2_span() const noexcept { return l2_entries * cluster_size; }
    // Host bytes a standard cluster's claim covers: the whole cluster; with extended L2 only up to its
    // last allocated subcluster (qemu reads only those, and a file may end right after it).
    std::uint64_t data_bytes(std::uint32_t data_mask) const noexcept {
        return extended_l2 ? (32u - static_cast<std::uint32_t>(std::countl_zero(data_mask))) * subcluster_size : cluster_size;
    }
};

qcow2_geometry stream_geometry(const qcow2_header& h) noexcept;

// What a claimed host range holds. Compressed extents may share bytes with each other (qemu packs
// them byte-contiguously and their sector-rounded lengths overlap the next one); everything else is
// exclusive.
enum class host_use : std::uint8_t { header, refcount_table, refcount_block, l1_table, l2_table, data, compressed };

std::string_view host_use_name(host_use u) noexcept;

class host_claims {
public:
    // Records [offset, offset + len) as used by u. errc::corrupt_image when it overlaps a range
    // already claimed (except compressed with compressed), naming both.
    result<void> claim(std::uint64_t offset, std::uint64_t len, host_use u);
    // The claimed range holding byte offset (adjacent and overlapping compressed claims merged into
    // one), as [first, end); {0, 0} when the byte is unclaimed.
    std::pair<std::uint64_t, std::uint64_t> range_at(std::uint64_t offset) const noexcept;
    // Number of disjoint ranges kept (adjacent claims of one kind merge).
    std::size_t ranges() const noexcept { return ranges_.size(); }

private:
    struct range {
        std::uint64_t end;
        host_use use;
    };
    std::map<std::uint64_t, range> ranges_;
};

// Compressed extents and their neighbours' sectors, as the decoder's window must treat them (pure;
// claims: every host range claimed so far).
// The part of the extent [off, off + len) no unclaimed neighbour can need: what its claim covers.
std::pair<std::uint64_t, std::uint64_t> compressed_interior(const host_claims& claims, std::uint64_t off, std::uint64_t len) noexcept;
// The part of it taken from the window that the window may then forget.
std::pair<std::uint64_t, std::uint64_t> compressed_owned(const host_claims& claims, std::uint64_t off, std::uint64_t len) noexcept;

// The structures the header names at fixed places: header cluster, refcount table, L1 table, claimed
// in claims; errc::corrupt_image when they overlap.
result<void> claim_fixed_structures(const qcow2_geometry& g, host_claims& claims);

}  // namespace cdi
