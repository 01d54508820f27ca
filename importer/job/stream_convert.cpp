#include "importer/job/stream_convert.hpp"

#include "convert/positional_target.hpp"
#include "convert/vmdk_header.hpp"
#include "convert/write_behind_output.hpp"

namespace cdi {

bool decodes_while_streaming(image_format f, std::span<const std::byte> head) noexcept {
    if (f == image_format::qcow2) return true;
    if (f != image_format::vmdk || head.size() < 512) return false;
    auto h = vmdk_header::parse_sector(head.first(512), "VMDK header");
    if (!h) return false;  // the staged path's inspector says why
    constexpr std::uint32_t compressed_grains = 1u << 16, markers = 1u << 17;
    return (h->flags() & compressed_grains) && (h->flags() & markers) && h->compress_algorithm() == 1;
}

result<stream_decode> stream_decode::start(image_format f, source& src, const stream_decode_options& opts) {
    if (f == image_format::qcow2) {
        qcow2_stream_options o;
        o.cancel = opts.cancel;
        o.spill_dir = opts.spill_dir;
        o.spill_limit = opts.spill_limit;
        o.spill_direct = opts.spill_direct;
        o.reread = opts.reread;
        // Bytes held back only save reading them again: half the window keeps the job's RSS under
        // 64 MiB on layouts that fill it (all data before the L1: 66 MiB with 32 MiB held).
        if (opts.reread) o.window_limit = 16u << 20;
        auto d = qcow2_stream_decoder::start(src, o);
        if (!d) return d.error();
        return stream_decode(std::move(*d));
    }
    auto d = vmdk_stream_decoder::start(src, vmdk_stream_options{});
    if (!d) return d.error();
    return stream_decode(std::move(*d));
}

std::uint64_t stream_decode::virtual_size() const noexcept {
    return std::visit([](const auto& d) { return d.virtual_size(); }, decoder_);
}

std::string stream_decode::describe() const {
    if (const auto* q = std::get_if<qcow2_stream_decoder>(&decoder_))
        return "qcow2 with " + std::to_string(q->header().cluster_size()) + "-byte clusters";
    const auto& v = std::get<vmdk_stream_decoder>(decoder_);
    return "streamOptimized VMDK with " + std::to_string(v.header().granularity() * 512) + "-byte grains";
}

result<stream_decode_summary> stream_decode::run(const job_spec& spec, std::uint64_t capacity, bool block_target, bool& target_created) {
    const positional_target_options opts{.capacity = capacity, .preallocate = spec.preallocate, .direct_io = true};
    auto target = positional_target::open(spec.target, block_target, virtual_size(), opts);
    if (!target) return target.error();
    target_created = !block_target;
    write_behind_output behind(**target);  // the disk writes while the next bytes arrive
    stream_decode_summary s;
    if (auto* q = std::get_if<qcow2_stream_decoder>(&decoder_)) {
        auto st = q->run(behind);  // ends with the target's flush: data and directory fsynced
        if (!st) return st.error();
        s.stream_bytes = st->stream_bytes;
        s.detail = std::to_string(st->data_clusters) + " data and " + std::to_string(st->compressed_clusters) +
                   " compressed clusters, " + std::to_string(st->window_peak) + " bytes held in memory at most, " +
                   std::to_string(st->spill_bytes_written) + " bytes spilled to scratch, " + std::to_string(st->reread_bytes) +
                   " bytes read again from the origin, " + std::to_string(st->tables_read_ahead) + " tables (" +
                   std::to_string(st->read_ahead_bytes) + " bytes) read ahead by position, " + std::to_string(st->queue_peak) +
                   " bytes of clusters queued ahead in memory at most (" + std::to_string(st->queue_spilled_bytes) + " bytes of them spilled)";
    } else {
        // Grains arrive one at a time: gathered into runs before the writer thread takes them.
        coalescing_output runs(behind);
        auto st = std::get<vmdk_stream_decoder>(decoder_).run(runs);
        if (!st) return st.error();
        s.stream_bytes = st->stream_bytes;
        s.detail = std::to_string(st->grains) + " grains, " + std::to_string(st->zero_grains) + " of them zero";
    }
    s.data_bytes = (*target)->data_bytes();
    s.preallocation_applied = (*target)->preallocation_applied();
    return s;
}

}  // namespace cdi
