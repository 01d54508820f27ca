#include "convert/qcow2_stream_entries.hpp"

#include <cstdio>
#include <string>

namespace cdi {
namespace {

constexpr std::uint64_t offset_mask = 0x00fffffffffffe00ull;  // L1E_OFFSET_MASK / L2E_OFFSET_MASK
constexpr std::uint64_t oflag_compressed = 1ull << 62;
constexpr std::uint64_t oflag_zero = 1ull;
constexpr std::uint64_t sector = 512;

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

result<std::uint64_t> decode_l1_entry(const qcow2_geometry& g, std::uint64_t entry) {
    const std::uint64_t off = entry & offset_mask;
    if (off % g.cluster_size != 0) return make_error(errc::corrupt_image, "qcow2 L2 table offset " + hex(off) + " is not cluster-aligned");
    return off;
}

result<l2_mapping> decode_l2_entry(const qcow2_geometry& g, std::uint64_t entry, std::uint64_t bitmap) {
    l2_mapping m;
    if (entry & oflag_compressed) {
        // The host offset in the low csize_shift bits, then (sectors - 1) above it; qemu reads
        // sectors * 512 - (offset % 512) bytes, which may run into the next compressed extent.
        // The subcluster bitmap of a compressed entry is reserved and ignored.
        const std::uint64_t coff = entry & ((1ull << g.csize_shift) - 1);
        const std::uint64_t nb = ((entry >> g.csize_shift) & ((1ull << (g.cluster_bits - 8)) - 1)) + 1;
        if (coff == 0) return make_error(errc::corrupt_image, "qcow2 compressed cluster at host offset 0");
        m.type = l2_mapping::kind::compressed;
        m.host_offset = coff;
        m.host_length = nb * sector - (coff % sector);
        return m;
    }
    const std::uint64_t off = entry & offset_mask;
    if (off % g.cluster_size != 0) return make_error(errc::corrupt_image, "qcow2 data cluster offset " + hex(off) + " is not cluster-aligned");
    if (!g.extended_l2) {
        if (entry & oflag_zero) {
            // qemu fails the read there ("Zero cluster entry found in pre-v3 image"), so qemu-img
            // convert fails: never written as zeros.
            if (!g.zero_clusters) return make_error(errc::corrupt_image, "qcow2 zero cluster entry " + hex(entry) + " in a version 2 image");
            m.type = l2_mapping::kind::zero;
            m.zero_mask = ~0u;
        } else if (off != 0) {
            m.type = l2_mapping::kind::normal;
            m.host_offset = off;
            m.host_length = g.cluster_size;
            m.data_mask = ~0u;
        }
        return m;
    }
    const auto alloc = static_cast<std::uint32_t>(bitmap);
    const auto zeros = static_cast<std::uint32_t>(bitmap >> 32);
    if (off != 0) {
        if (alloc & zeros) {
            return make_error(errc::corrupt_image, "qcow2 extended L2 entry " + hex(entry) + " marks a subcluster both allocated and zero");
        }
        m.type = alloc != 0 ? l2_mapping::kind::normal : l2_mapping::kind::zero;
        m.host_offset = off;
        m.host_length = g.cluster_size;
    } else {
        if (alloc != 0) return make_error(errc::corrupt_image, "qcow2 extended L2 bitmap " + hex(bitmap) + " allocates subclusters without a host cluster");
        m.type = zeros != 0 ? l2_mapping::kind::zero : l2_mapping::kind::unallocated;
    }
    m.data_mask = alloc;
    m.zero_mask = zeros;
    return m;
}

}  // namespace cdi
