// qcow2_stream_decoder: what it does with the tables (L1, L2, refcount table) once their bytes are
// in hand, and reading far tables ahead by position (qcow2_stream_decoder.hpp has the contract).
#include "convert/qcow2_stream_decoder.hpp"

#include "convert/image_reader.hpp"
#include "convert/qcow2_stream_entries.hpp"

#include <algorithm>

namespace cdi {
namespace {

constexpr std::uint64_t sector = 512;

}  // namespace

result<void> qcow2_stream_decoder::read_tables_ahead() {
    // Handling an L1 names L2 tables (some far ahead again); handling an L2 may claim bytes behind
    // the stream, queued to be read again: both until nothing is left to do.
    for (;;) {
        auto more = read_ahead_batch();
        if (!more) return more.error();
        if (auto r = reread_awaiting(); !r) return r;
        if (!*more) return {};
    }
}

result<bool> qcow2_stream_decoder::read_ahead_batch() {
    const std::uint64_t at = chunk_base_ + chunk_.size();
    std::vector<gather> batch;
    std::uint64_t bytes = 0, claims = pending_.size() + queued_.size();  // the batch's bytes; claims waiting, and those it may add
    for (auto it = far_tables_.begin(); it != far_tables_.end();) {
        const std::uint64_t off = *it;
        // Offsets ascend: the nearest first, whose data is the next to pass. The rest waits for the
        // stream to catch up (one table at least, if nothing else waits).
        if (claims >= opts_.claims_ahead_limit) break;
        auto [lo, hi] = pending_.equal_range(off);
        auto e = std::find_if(lo, hi, [](const auto& kv) {
            return !kv.second.read_ahead && (kv.second.use == host_use::l1_table || kv.second.use == host_use::l2_table);
        });
        if (e == hi || off < at + window_.limit()) {
            // Collected by the stream already, or near enough for the window to hold what comes first.
            it = far_tables_.erase(it);
            continue;
        }
        const std::uint64_t adds = e->second.use == host_use::l1_table ? geo_.l1_entries : geo_.l2_entries;
        if (!batch.empty() && (bytes + e->second.len > opts_.reread->batch_bytes() || claims + adds > opts_.claims_ahead_limit)) break;
        claims += adds;
        claim_info c = e->second;
        e->second.read_ahead = true;
        bytes += c.len;
        gather g{off, c, std::vector<std::byte>(static_cast<std::size_t>(c.len)), c.len, {}};
        g.reread.push_back({off, std::span(g.bytes)});
        batch.push_back(std::move(g));  // the part's span stays valid: a moved vector keeps its buffer
        it = far_tables_.erase(it);
    }
    if (batch.empty()) return false;
    stats_.tables_read_ahead += batch.size();
    auto n = read_and_handle(batch);
    if (!n) return n.error();
    stats_.read_ahead_bytes += *n;
    return true;
}

void qcow2_stream_decoder::table_done() {
    if (--tables_outstanding_ == 0) {
        // Every table has arrived: whatever the window holds is unreferenced.
        tables_complete_ = true;
        window_.clear();
    }
}

result<void> qcow2_stream_decoder::handle_l1(std::span<const std::byte> bytes) {
    const std::uint64_t span = geo_.l2_span();
    for (std::uint64_t i = 0; i < geo_.l1_entries; ++i) {
        auto l2 = decode_l1_entry(geo_, load_be64(bytes, static_cast<std::size_t>(i * 8)));
        if (!l2) return l2.error();
        // Entries past the virtual size are never read by qemu-img convert.
        if (*l2 == 0 || i * span >= geo_.virtual_size) continue;
        ++tables_outstanding_;
        if (auto r = add_claim(*l2, {host_use::l2_table, geo_.cluster_size, i * span, 0}); !r) return r;
    }
    table_done();
    return {};
}

result<void> qcow2_stream_decoder::handle_l2(const claim_info& c, std::span<const std::byte> bytes) {
    const std::uint64_t cs = geo_.cluster_size, sub = geo_.subcluster_size;
    const std::uint64_t ahead = chunk_base_ + chunk_.size();
    std::vector<cluster_queue::entry> queued;
    for (std::uint64_t j = 0; j < geo_.l2_entries; ++j) {
        const std::uint64_t guest = c.guest + j * cs;
        if (guest >= geo_.virtual_size) break;
        const auto at = static_cast<std::size_t>(j * geo_.l2_entry_bytes);
        const std::uint64_t bitmap = geo_.extended_l2 ? load_be64(bytes, at + 8) : 0;
        auto m = decode_l2_entry(geo_, load_be64(bytes, at), bitmap);
        if (!m) return m.error();
        // Zero subclusters (or a whole zero cluster) need no host bytes.
        for (std::uint32_t s = 0; m->zero_mask != 0 && s < (geo_.extended_l2 ? 32u : 1u); ++s) {
            if (m->zero_mask & (1u << s)) {
                if (auto r = emit_zeros(guest + s * sub, sub); !r) return r;
            }
        }
        if (m->type == l2_mapping::kind::normal) {
            const std::uint64_t len = geo_.data_bytes(m->data_mask);
            if (len == 0) continue;
            if (m->host_offset >= ahead) {
                // Ahead of the stream: queued compactly, claimed when the stream reaches it.
                if (queued.empty()) queued.reserve(static_cast<std::size_t>(geo_.l2_entries - j));
                queued.push_back({m->host_offset, static_cast<std::uint32_t>(j), m->data_mask});
                continue;
            }
            if (auto r = add_claim(m->host_offset, {host_use::data, len, guest, m->data_mask}); !r) return r;
        } else if (m->type == l2_mapping::kind::compressed) {
            if (auto r = add_claim(m->host_offset, {host_use::compressed, m->host_length, guest, 0}); !r) return r;
        }
    }
    if (auto r = queued_.add(c.guest, queued); !r) return r;
    stats_.queue_peak = std::max(stats_.queue_peak, queued_.bytes());
    if (auto r = check_claims_memory(); !r) return r;
    table_done();
    return {};
}

result<void> qcow2_stream_decoder::handle_refcount_table(std::span<const std::byte> bytes) {
    // Only to know which clusters hold refcount blocks, so they are not held in the window. Entries
    // that are not cluster-aligned are ignored: refcounts do not change the image.
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        const std::uint64_t off = load_be64(bytes, i) & ~(sector - 1);
        if (off == 0 || off % geo_.cluster_size != 0) continue;
        if (auto r = add_claim(off, {host_use::refcount_block, geo_.cluster_size, 0, 0}); !r) return r;
    }
    return {};
}

}  // namespace cdi
