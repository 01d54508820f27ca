#include "convert/qcow2_stream_decoder.hpp"

#include "convert/image_reader.hpp"
#include "convert/qcow2_stream_entries.hpp"
#include "convert/sparse_writer.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace cdi {
namespace {


std::uint64_t clamp_len(std::uint64_t guest, std::uint64_t len, std::uint64_t vsize) {
    if (guest >= vsize) return 0;
    return std::min(len, vsize - guest);
}

std::optional<spill_options> spill_of(const qcow2_stream_options& opts) {
    if (!opts.spill_dir) return std::nullopt;
    return spill_options{*opts.spill_dir, opts.spill_limit, opts.spill_direct};
}

cluster_queue_options queue_of(const qcow2_stream_options& opts) {
    cluster_queue_options q;
    q.memory_limit = opts.queue_memory_limit;
    q.spill = spill_of(opts);
    return q;
}

}  // namespace

qcow2_stream_decoder::qcow2_stream_decoder(source& src, const qcow2_stream_options& opts, qcow2_header h)
    : src_(&src), opts_(opts), header_(h), geo_(stream_geometry(h)),
      window_(opts.window_limit, geo_.cluster_size, spill_of(opts), opts.reread != nullptr),
      queued_(geo_.cluster_bits, geo_.extended_l2, queue_of(opts)) {}

result<qcow2_stream_decoder> qcow2_stream_decoder::start(source& src, const qcow2_stream_options& opts) {
    // Bytes 0..103 name the cluster size; the rest of cluster 0 holds the header extensions.
    std::vector<std::byte> head(104);
    auto got = read_full(src, head);
    if (!got) return got.error();
    if (*got < 4 || !bytes_equal(head, 0, "QFI\xfb")) return make_error(errc::bad_image, "stream is not a qcow2 image");
    std::uint64_t total = *got;
    if (*got == head.size()) {
        const std::uint32_t bits = load_be32(head, 20);
        if (bits >= 9 && bits <= 21) {
            head.resize(std::size_t{1} << bits);
            auto rest = read_full(src, std::span(head).subspan(104));
            if (!rest) return rest.error();
            total += *rest;
        }
    } else {
        head.resize(*got);
    }
    auto h = qcow2_header::read_stream_head(head);
    if (!h) return h.error();
    if (total < h->cluster_size()) {
        return make_error(errc::truncated, "qcow2 stream ended at " + std::to_string(total) + " bytes, inside its header cluster");
    }
    qcow2_stream_decoder d(src, opts, *h);
    d.stats_.stream_bytes = total;
    d.chunk_base_ = total;
    return d;
}

result<qcow2_stream_stats> qcow2_stream_decoder::run(positional_output& target) {
    // Clusters that continue each other on the guest side go down as one write (or one zero range).
    coalescing_output out(target);
    out_ = &out;
    auto r = run_to_end(out);
    worker_.reset();  // stops and joins the inflate thread, whatever happened
    out_ = nullptr;
    return r;
}

result<qcow2_stream_stats> qcow2_stream_decoder::run_to_end(positional_output& out) {
    if (auto r = claim_fixed_structures(geo_, claims_); !r) return r.error();
    tables_outstanding_ = 1;  // the L1 table
    if (auto r = enqueue(geo_.l1_offset, {host_use::l1_table, geo_.l1_bytes, 0, 0, false}); !r) return r.error();
    if (geo_.reftable_bytes > 0) {
        if (auto r = enqueue(geo_.reftable_offset, {host_use::refcount_table, geo_.reftable_bytes, 0, 0, false}); !r) return r.error();
    }
    const std::uint64_t cs = geo_.cluster_size;
    const std::uint64_t chunk = std::max<std::uint64_t>(cs, (opts_.chunk + cs - 1) / cs * cs);
    std::vector<std::byte> buf(static_cast<std::size_t>(chunk));
    for (;;) {
        if (opts_.cancel && opts_.cancel->canceled()) return make_error(errc::canceled, "the job was canceled");
        auto n = read_full(*src_, buf);
        if (!n) return n.error();
        if (*n == 0) break;
        stats_.stream_bytes += *n;
        if (auto r = process_chunk(chunk_base_, std::span(buf).first(*n)); !r) return r.error();
        chunk_base_ += *n;
        if (*n < buf.size()) break;
    }
    chunk_ = {};
    if (auto r = finish(); !r) return r.error();
    if (auto r = out.flush(); !r) return r.error();
    stats_.window_peak = window_.peak();
    stats_.spill_peak = window_.spill_peak();
    stats_.spill_bytes_written = window_.spill_bytes_written();
    stats_.passed_over = window_.remote_bytes();
    stats_.queue_spilled_bytes = queued_.spilled_bytes();
    return stats_;
}

result<void> qcow2_stream_decoder::process_chunk(std::uint64_t base, std::span<const std::byte> chunk) {
    chunk_base_ = base;
    chunk_ = chunk;
    covered_.clear();
    // Claims that began in an earlier chunk, then every claim that starts in this one; handling a
    // table may add claims here (collected at once) or behind us (served from the window).
    auto carried = std::move(gathers_);
    gathers_.clear();
    for (auto& g : carried) {
        if (auto r = feed(g); !r) return r;
    }
    const std::uint64_t end = base + chunk.size();
    // Both queues in host order (at one offset the other claim first: the cluster then overlaps it).
    for (;;) {
        const bool claim = !pending_.empty() && pending_.begin()->first < end;
        const bool cluster = !queued_.empty() && queued_.next_host() < end;
        if (cluster && (!claim || queued_.next_host() < pending_.begin()->first)) {
            auto q = queued_.pop();
            if (!q) return q.error();
            if (auto r = collect_queued(*q); !r) return r;
        } else if (claim) {
            auto node = pending_.extract(pending_.begin());
            if (auto r = collect(node.key(), node.mapped()); !r) return r;
        } else {
            break;
        }
    }
    // Before the window takes this chunk's unclaimed bytes: the tables read again may claim some.
    if (auto r = reread_awaiting(); !r) return r;
    if (tables_complete_) return {};
    if (!far_tables_.empty() && (window_.held() >= window_.limit() / 4 || window_.remote_bytes() > 0 || window_.spilled() > 0)) {
        // The window fills: this layout puts data before its tables. Read the far ones now, before
        // this chunk's bytes go to the window (their entries may claim some).
        if (auto r = read_tables_ahead(); !r) return r;
        if (tables_complete_) return {};
    }
    // Bytes no claim took: held until every table has arrived, when unreferenced ones are dropped.
    std::sort(covered_.begin(), covered_.end());
    std::uint64_t at = base;
    for (const auto& [from, to] : covered_) {
        if (from > at) {
            if (auto r = window_.put(at, chunk.subspan(at - base, from - at)); !r) return r;
        }
        at = std::max(at, to);
    }
    if (at < end) {
        if (auto r = window_.put(at, chunk.subspan(at - base)); !r) return r;
    }
    return {};
}

void qcow2_stream_decoder::cover(std::uint64_t from, std::uint64_t to) {
    if (from < to) covered_.emplace_back(from, to);
}

result<void> qcow2_stream_decoder::add_claim(std::uint64_t off, const claim_info& c) {
    if (auto r = claims_.claim(off, c.len, c.use); !r) return r;
    if (auto r = check_claims_memory(); !r) return r;
    return enqueue(off, c);
}

result<void> qcow2_stream_decoder::check_claims_memory() const {
    // A multimap node and a map node as this library lays them out, with malloc's rounding.
    constexpr std::uint64_t claim_bytes = 80, range_bytes = 64;
    const std::uint64_t used = queued_.bytes() + pending_.size() * claim_bytes + claims_.ranges() * range_bytes;
    if (used <= opts_.claims_memory_limit) return {};
    return make_error(errc::bad_image, "qcow2 tables name clusters so scattered that keeping track of them would take more than " +
                                           std::to_string(opts_.claims_memory_limit >> 20) +
                                           " MiB (a fragmented layout): import it with CDI_CONVERTER=qemu-img");
}

result<void> qcow2_stream_decoder::collect_queued(const cluster_queue::cluster& q) {
    const std::uint64_t len = geo_.data_bytes(q.data_mask);
    if (auto r = claims_.claim(q.host, len, host_use::data); !r) return r;
    return collect(q.host, {host_use::data, len, q.guest, q.data_mask});
}

result<void> qcow2_stream_decoder::enqueue(std::uint64_t off, const claim_info& c) {
    if (c.use == host_use::refcount_block && off < chunk_base_) {
        window_.release(off, c.len);  // passed already: nothing to read, only to forget
        return {};
    }
    const std::uint64_t at = chunk_base_ + chunk_.size();
    if (off >= at) {
        pending_.emplace(off, c);
        const bool table = c.use == host_use::l1_table || c.use == host_use::l2_table;
        if (table && !c.read_ahead && opts_.reread && opts_.read_tables_ahead && off - at >= window_.limit()) far_tables_.insert(off);
        return {};
    }
    return collect(off, c);
}

result<void> qcow2_stream_decoder::collect(std::uint64_t off, const claim_info& c) {
    if (c.len == 0) return handle(off, c, {});
    const std::uint64_t end = off + c.len;
    const std::uint64_t chunk_end = chunk_base_ + chunk_.size();
    // What lies in the current chunk is claimed; a compressed extent leaves its partial first and
    // last sectors to the window too, since the neighbouring extent may share them.
    if (c.use == host_use::compressed) {
        const auto [lo, hi] = compressed_interior(claims_, off, c.len);
        cover(std::max(lo, chunk_base_), std::min(hi, chunk_end));
    } else if (c.use == host_use::l1_table) {
        // The rest of the L1 table's last cluster is the table's too (qemu allocates whole clusters).
        cover(std::max(off, chunk_base_), std::min((end + geo_.cluster_size - 1) & ~(geo_.cluster_size - 1), chunk_end));
    } else {
        cover(std::max(off, chunk_base_), std::min(end, chunk_end));
    }
    if (c.use == host_use::refcount_block) return {};
    if (c.read_ahead) {
        // Handled already; its bytes pass unused, covered chunk by chunk (a table longer than the
        // rest of this chunk, an L1, continues at the next one; it may end the file unpadded).
        if (end > chunk_end) pending_.emplace(chunk_end, claim_info{c.use, end - chunk_end, c.guest, 0, true});
        return {};
    }
    if (off >= chunk_base_ && end <= chunk_end) {
        return handle(off, c, chunk_.subspan(off - chunk_base_, c.len));
    }
    gather g{off, c, std::vector<std::byte>(static_cast<std::size_t>(c.len)), 0, {}};
    if (off < chunk_base_) {
        // Passed before its table arrived: the window must hold it.
        const std::uint64_t n = std::min(end, chunk_base_) - off;
        auto held = window_.copy_out(off, std::span(g.bytes).first(n), &g.reread);
        if (!held) return held.error();
        if (!*held) {
            return make_error(errc::corrupt_image, "qcow2 " + std::string(host_use_name(c.use)) + " at " + std::to_string(off) +
                                                       " lies in bytes already used for something else");
        }
        if (c.use != host_use::compressed) {
            window_.release(off, n);
        } else {
            const auto [lo, hi] = compressed_owned(claims_, off, c.len);
            if (lo < std::min(hi, off + n)) window_.release(lo, std::min(hi, off + n) - lo);
        }
        g.have = n;
    }
    return feed(g);
}

result<void> qcow2_stream_decoder::feed(gather& g) {
    const std::uint64_t chunk_end = chunk_base_ + chunk_.size();
    const std::uint64_t at = g.off + g.have, end = g.off + g.info.len;
    if (at >= chunk_base_ && at < chunk_end) {
        const std::uint64_t n = std::min(end, chunk_end) - at;
        std::memcpy(g.bytes.data() + g.have, chunk_.data() + (at - chunk_base_), n);
        g.have += n;
        if (g.info.use != host_use::compressed) {
            cover(at, at + n);
        } else {
            const auto [lo, hi] = compressed_interior(claims_, g.off, g.info.len);
            cover(std::max(lo, at), std::min(hi, at + n));
        }
    }
    if (g.have == g.info.len) return ready(std::move(g));
    gathers_.push_back(std::move(g));
    return {};
}

result<void> qcow2_stream_decoder::ready(gather&& g) {
    if (g.reread.empty()) return handle(g.off, g.info, g.bytes);
    awaiting_bytes_ += g.info.len;
    awaiting_.push_back(std::move(g));  // the parts' spans stay valid: a moved vector keeps its buffer
    if (awaiting_bytes_ < opts_.reread->batch_bytes()) return {};
    return reread_awaiting();
}

result<void> qcow2_stream_decoder::reread_awaiting() {
    // Handling a table read again may queue more (and, past the batch size, read them at once).
    while (!awaiting_.empty()) {
        auto batch = std::move(awaiting_);
        awaiting_.clear();
        awaiting_bytes_ = 0;
        auto n = read_and_handle(batch);
        if (!n) return n.error();
        stats_.reread_bytes += *n;
    }
    return {};
}

result<std::uint64_t> qcow2_stream_decoder::read_and_handle(std::vector<gather>& batch) {
    std::vector<range_part> parts;
    for (const auto& g : batch) parts.insert(parts.end(), g.reread.begin(), g.reread.end());
    if (auto r = opts_.reread->read(parts); !r) return r.error();
    std::uint64_t bytes = 0;
    for (const auto& p : parts) bytes += p.out.size();
    for (auto& g : batch) {
        if (auto r = handle(g.off, g.info, g.bytes); !r) return r.error();
    }
    return bytes;
}

result<void> qcow2_stream_decoder::handle(std::uint64_t, const claim_info& c, std::span<const std::byte> bytes) {
    switch (c.use) {
    case host_use::l1_table: return handle_l1(bytes);
    case host_use::l2_table: return handle_l2(c, bytes);
    case host_use::refcount_table: return handle_refcount_table(bytes);
    case host_use::data: return handle_data(c, bytes);
    case host_use::compressed: return handle_compressed(c, bytes);
    case host_use::header:
    case host_use::refcount_block: return {};
    }
    return {};
}

result<void> qcow2_stream_decoder::handle_data(const claim_info& c, std::span<const std::byte> bytes) {
    ++stats_.data_clusters;
    if (!geo_.extended_l2) return emit(c.guest, bytes);
    // Runs of allocated subclusters, each written in one piece.
    const std::uint64_t sub = geo_.subcluster_size;
    for (std::uint32_t s = 0; s < 32;) {
        if (!(c.data_mask & (1u << s))) {
            ++s;
            continue;
        }
        std::uint32_t e = s;
        while (e < 32 && (c.data_mask & (1u << e))) ++e;
        if (auto r = emit(c.guest + s * sub, bytes.subspan(s * sub, (e - s) * sub)); !r) return r;
        s = e;
    }
    return {};
}

result<void> qcow2_stream_decoder::handle_compressed(const claim_info& c, std::span<const std::byte> bytes) {
    ++stats_.compressed_clusters;
    if (!worker_) {
        auto w = inflate_worker::create(geo_.compression_type, static_cast<std::size_t>(geo_.cluster_size));
        if (!w) return w.error();
        worker_ = std::move(*w);
    }
    return worker_->submit(c.guest, bytes, [this](std::uint64_t guest, std::span<const std::byte> cluster) { return emit(guest, cluster); });
}

result<void> qcow2_stream_decoder::emit(std::uint64_t guest, std::span<const std::byte> bytes) {
    const auto len = static_cast<std::size_t>(clamp_len(guest, bytes.size(), geo_.virtual_size));
    if (len == 0) return {};
    bytes = bytes.first(len);
    if (is_zero(bytes)) return out_->zero_at(guest, len);
    return out_->write_at(guest, bytes);
}

result<void> qcow2_stream_decoder::emit_zeros(std::uint64_t guest, std::uint64_t len) {
    len = clamp_len(guest, len, geo_.virtual_size);
    if (len == 0) return {};
    return out_->zero_at(guest, len);
}

result<void> qcow2_stream_decoder::finish() {
    // A compressed extent's sector rounding may run past the end of the file (qemu reads zeros
    // there); anything else still missing was cut off.
    // Tables read again here may claim more, up to and across the end: until nothing is left.
    do {
        auto carried = std::move(gathers_);
        gathers_.clear();
        for (auto& g : carried) {
            if (g.info.use != host_use::compressed) {
                return make_error(errc::truncated, "qcow2 stream ended at " + std::to_string(stats_.stream_bytes) + " inside the " +
                                                       std::string(host_use_name(g.info.use)) + " at " + std::to_string(g.off));
            }
            g.have = g.info.len;  // the tail is already zero
            if (auto r = ready(std::move(g)); !r) return r;
        }
        if (auto r = reread_awaiting(); !r) return r;
    } while (!gathers_.empty());
    if (!queued_.empty()) {
        return make_error(errc::truncated, "qcow2 stream ended at " + std::to_string(stats_.stream_bytes) + " before the data cluster at " +
                                               std::to_string(queued_.next_host()));
    }
    for (const auto& [off, c] : pending_) {
        if (c.use == host_use::refcount_block) continue;
        return make_error(errc::truncated, "qcow2 stream ended at " + std::to_string(stats_.stream_bytes) + " before the " +
                                               std::string(host_use_name(c.use)) + " at " + std::to_string(off));
    }
    if (!tables_complete_) return make_error(errc::truncated, "qcow2 stream ended before all of its tables");
    if (!worker_) return {};
    return worker_->finish([this](std::uint64_t guest, std::span<const std::byte> cluster) { return emit(guest, cluster); });
}

}  // namespace cdi
