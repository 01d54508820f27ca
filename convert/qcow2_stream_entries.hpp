#pragma once
// L1 and L2 entries decoded as qemu 7.2 reads them (block/qcow2.h qcow2_get_cluster_type and
// qcow2_get_subcluster_type; docs/interop/qcow2.txt), for an image with no backing file and no
// external data file: "unallocated" reads as zeros. Pure functions; the decoder does the I/O.
#include "convert/qcow2_stream_layout.hpp"

#include <cstdint>

namespace cdi {

// The L2 table offset an L1 entry names, 0 when the range is unallocated; errc::corrupt_image when it
// is not cluster-aligned (qemu: "L2 table offset ... unaligned").
result<std::uint64_t> decode_l1_entry(const qcow2_geometry& g, std::uint64_t entry);

struct l2_mapping {
    enum class kind : std::uint8_t { unallocated, zero, normal, compressed };
    kind type = kind::unallocated;
    std::uint64_t host_offset = 0;   // normal: the cluster; compressed: the first byte
    std::uint64_t host_length = 0;   // compressed: bytes qemu reads (sector-rounded); normal: cluster size
    // Extended L2, type normal or zero: per-subcluster bits (bit i = subcluster i). Subclusters in
    // neither mask read as zeros (no backing file). Without extended L2: all or nothing.
    std::uint32_t data_mask = 0;
    std::uint32_t zero_mask = 0;
};

// Decodes one L2 entry (and, with extended L2, its subcluster bitmap). errc::corrupt_image for what
// qemu reports as corruption: an unaligned data offset, a subcluster both allocated and zero, a
// subcluster allocated without a host cluster, a compressed entry with a zero offset.
result<l2_mapping> decode_l2_entry(const qcow2_geometry& g, std::uint64_t entry, std::uint64_t bitmap);

}  // namespace cdi
