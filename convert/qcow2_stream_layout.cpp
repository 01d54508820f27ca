#include "convert/qcow2_stream_layout.hpp"

#include <algorithm>
#include <iterator>

namespace cdi {
namespace {

constexpr std::uint64_t sector = 512;

}  // namespace

qcow2_geometry stream_geometry(const qcow2_header& h) noexcept {
    qcow2_geometry g;
    g.cluster_bits = h.cluster_bits();
    g.cluster_size = h.cluster_size();
    g.virtual_size = h.virtual_size();
    g.l1_offset = h.l1_offset();
    g.l1_entries = h.l1_entries();
    g.l1_bytes = static_cast<std::uint64_t>(h.l1_entries()) * 8;
    g.reftable_offset = h.reftable_offset();
    g.reftable_bytes = static_cast<std::uint64_t>(h.reftable_clusters()) << h.cluster_bits();
    g.extended_l2 = h.extended_l2();
    g.zero_clusters = h.version() >= 3;
    g.l2_entry_bytes = g.extended_l2 ? 16 : 8;
    g.l2_entries = g.cluster_size / g.l2_entry_bytes;
    g.subcluster_size = g.extended_l2 ? g.cluster_size / 32 : g.cluster_size;
    g.compression_type = h.compression_type();
    g.csize_shift = 62 - (g.cluster_bits - 8);
    return g;
}

std::string_view host_use_name(host_use u) noexcept {
    switch (u) {
    case host_use::header: return "header";
    case host_use::refcount_table: return "refcount table";
    case host_use::refcount_block: return "refcount block";
    case host_use::l1_table: return "L1 table";
    case host_use::l2_table: return "L2 table";
    case host_use::data: return "data cluster";
    case host_use::compressed: return "compressed cluster";
    }
    return "?";
}

result<void> host_claims::claim(std::uint64_t offset, std::uint64_t len, host_use u) {
    if (len == 0) return {};
    if (offset + len < offset) return make_error(errc::corrupt_image, "qcow2 " + std::string(host_use_name(u)) + " offset overflows");
    std::uint64_t start = offset, end = offset + len;
    auto it = ranges_.upper_bound(start);
    if (it != ranges_.begin() && std::prev(it)->second.end > start) --it;
    // Every range that overlaps [start, end): refused unless both are compressed, which merge.
    while (it != ranges_.end() && it->first < end) {
        if (u != host_use::compressed || it->second.use != host_use::compressed) {
            return make_error(errc::corrupt_image, "qcow2 " + std::string(host_use_name(u)) + " at " + std::to_string(offset) + " overlaps a " +
                                                       std::string(host_use_name(it->second.use)) + " at " + std::to_string(it->first));
        }
        start = std::min(start, it->first);
        end = std::max(end, it->second.end);
        it = ranges_.erase(it);
    }
    // Merge with an adjacent range of the same kind on either side, so contiguous data stays one entry.
    if (it != ranges_.end() && it->first == end && it->second.use == u) {
        end = it->second.end;
        ranges_.erase(it);
    }
    auto next = ranges_.lower_bound(start);
    if (next != ranges_.begin()) {
        auto prev = std::prev(next);
        if (prev->second.end == start && prev->second.use == u) {
            prev->second.end = end;
            return {};
        }
    }
    ranges_.emplace(start, range{end, u});
    return {};
}

std::pair<std::uint64_t, std::uint64_t> host_claims::range_at(std::uint64_t offset) const noexcept {
    auto it = ranges_.upper_bound(offset);
    if (it == ranges_.begin()) return {0, 0};
    --it;
    if (it->second.end <= offset) return {0, 0};
    return {it->first, it->second.end};
}

result<void> claim_fixed_structures(const qcow2_geometry& g, host_claims& claims) {
    if (auto r = claims.claim(0, g.cluster_size, host_use::header); !r) return r;
    if (auto r = claims.claim(g.reftable_offset, g.reftable_bytes, host_use::refcount_table); !r) return r;
    // The L1 table occupies whole clusters (qemu allocates it so), which also keeps an L2 table or
    // data cluster from sharing its last cluster.
    const std::uint64_t l1_clusters = (g.l1_bytes + g.cluster_size - 1) & ~(g.cluster_size - 1);
    return claims.claim(g.l1_offset, l1_clusters, host_use::l1_table);
}

std::pair<std::uint64_t, std::uint64_t> compressed_interior(const host_claims& claims, std::uint64_t off, std::uint64_t len) noexcept {
    // qemu packs compressed extents byte-contiguously and rounds each up to whole sectors, so an
    // extent's partial first sector and its last sector may hold a neighbour's bytes. Those are left
    // uncovered (held in the window while tables are outstanding), unless the neighbour is already
    // claimed (the byte before or after is): then nothing unclaimed may use them without overlapping.
    const std::uint64_t end = off + len;
    const bool before_known = off == 0 || claims.range_at(off - 1).second != 0;
    const bool after_known = claims.range_at(end).second != 0;
    const std::uint64_t lo = before_known ? off : (off + sector - 1) / sector * sector;
    const std::uint64_t hi = after_known ? end : (end >= sector ? end - sector : 0);
    return {lo, std::max(lo, hi)};
}

std::pair<std::uint64_t, std::uint64_t> compressed_owned(const host_claims& claims, std::uint64_t off, std::uint64_t len) noexcept {
    // What the window may forget once this extent has its bytes. Never its last sector: an extent not
    // yet claimed may lie wholly inside it, ending where this one ends (qemu packs extents byte by
    // byte; a tiny one fits in a sector), whatever is claimed after it. Its partial first sector only
    // when the byte before belongs to something that is not compressed (a compressed neighbour would
    // have merged with this claim): then no extent may start there without overlapping that.
    const std::uint64_t end = off + len;
    const auto before = off == 0 ? std::pair<std::uint64_t, std::uint64_t>{0, 0} : claims.range_at(off - 1);
    const bool exclusive_before = off % sector == 0 || (before.second != 0 && before.second <= off);
    const std::uint64_t lo = exclusive_before ? off : (off + sector - 1) / sector * sector;
    const std::uint64_t hi = end >= sector ? end - sector : 0;
    return {lo, std::max(lo, hi)};
}

}  // namespace cdi
