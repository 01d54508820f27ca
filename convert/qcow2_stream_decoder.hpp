#pragma once
// A qcow2 image decoded in file order as its bytes arrive (issue 14, first step): no scratch copy,
// no seek on the source. Tables are read as they pass; each data or compressed cluster is written at
// its guest offset through a positional_output as soon as both it and the L2 entry naming it have
// arrived. Bytes that pass before any table names them are held in a bounded window (see
// qcow2_stream_layout.hpp for why qemu-img's own layout needs almost none) and dropped once every
// table has arrived. Output equals `qemu-img convert -O raw` byte for byte (the tests' oracle).
//
// Refused, never guessed: whatever the header check refuses (backing file, data file, encryption,
// unknown incompatible features: see qcow2_header.hpp); tables or clusters that overlap
// (errc::corrupt_image); entries qemu calls corrupt; a table or cluster past the end of the stream
// (errc::truncated); compressed data that does not fill its cluster (errc::decompress); a layout that
// needs more than the window and no spill directory was given (errc::scratch_required: the caller
// falls back to scratch + qemu-img); with one, more than spill_limit bytes of scratch (errc::no_space).
// Refcounts, snapshots and bitmaps are ignored (they do not change the active image).
//
// With a spill directory (the importer's scratch volume), bytes past the window's memory limit go to
// an unnamed file there and are read back when claimed (qcow2_stream_spill.hpp): the kernel frees it
// on any exit, so scratch is empty afterwards; qemu-img's own layout writes 0 bytes of scratch.
// With a range reader (an HTTP origin that serves ranges of the same body, cdi/range_reader.hpp),
// bytes past the window's memory limit are not kept at all, only their positions: when a table names
// them they are read again from the origin, gathered into batches of the reader's batch_bytes() and
// fetched concurrently by it, so such a layout needs neither scratch nor memory. The spill file
// stays the fallback once the positions' own bound is reached.
// Tables read ahead: when the window fills (the layout has shown that data passes before its tables:
// an L1 moved to the end by a resize), the L1 and L2 tables still more than a window ahead are read
// by position at once, as qemu-img reads them through nbdkit, so the data behind them is claimed
// before it passes instead of being read again. Bounded by the claims they queue (claims_ahead_limit).
// Data clusters named ahead of the stream wait in a compact queue (qcow2_stream_queue.hpp, 8 bytes
// each) and are claimed when the stream reaches them; past queue_memory_limit the queue spills to
// scratch (or asks for it: errc::scratch_required); past claims_memory_limit the image is refused
// (errc::bad_image).
// Compressed clusters are inflated on a second thread (inflate_worker) while this one reads and writes.
// Thread-safety: none (the worker thread is internal). The source and output must outlive the decoder.
#include "cdi/progress.hpp"
#include "cdi/range_reader.hpp"
#include "cdi/source.hpp"
#include "convert/positional_output.hpp"
#include "convert/qcow2_header.hpp"
#include "convert/qcow2_stream_inflate_worker.hpp"
#include "convert/qcow2_stream_layout.hpp"
#include "convert/qcow2_stream_queue.hpp"
#include "convert/qcow2_stream_window.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace cdi {

struct qcow2_stream_options {
    std::uint64_t window_limit = 32ull << 20;  // bytes held in memory before their table arrives
    std::size_t chunk = 4u << 20;              // bytes read from the source at a time (rounded to clusters)
    const cancel_token* cancel = nullptr;      // checked between chunks: errc::canceled
    // Scratch for the window: bytes past window_limit are spilled to an unnamed file created here (at
    // the first spill only). Without it, a layout needing more than window_limit is scratch_required.
    std::optional<std::filesystem::path> spill_dir;
    // Bytes the spill file may hold at once (the scratch volume's free space); past it, errc::no_space.
    std::uint64_t spill_limit = 0;
    // CACHE_MODE=TRYNONE: the spill file is written and read with O_DIRECT (buffered where refused).
    bool spill_direct = false;
    // Reads passed-over bytes again by position (their host offset is their offset in the stream):
    // preferred to the spill file. Must outlive the decoder. Null: none.
    range_reader* reread = nullptr;
    // With a reader: tables still far ahead are read by position once the window fills (above).
    // Off: only what passed is read again (the tests of that path turn it off).
    bool read_tables_ahead = true;
    // Claims waiting ahead of the stream (8 bytes a data cluster, ~80 anything else) past which no
    // more tables are read ahead until the stream catches up: the memory reading ahead may take.
    std::size_t claims_ahead_limit = std::size_t{1} << 16;
    // Data clusters waiting ahead of the stream (8 bytes each, one sorted run per L2 table) kept in
    // memory; past it the runs go to a file in spill_dir as one merged run (~2.2 KiB of it stays in
    // memory), or without one the image asks for scratch (errc::scratch_required). 16 MiB: 2 million
    // clusters, 128 GiB of 64 KiB clusters scattered behind their tables.
    std::uint64_t queue_memory_limit = std::uint64_t{16} << 20;
    // Memory all claims may take (the queue's in memory, other claims and separate claimed ranges of
    // the file ~64-80 bytes each) past which the image is refused (errc::bad_image, naming
    // CDI_CONVERTER=qemu-img) rather than the pod being killed for its memory. With the queue
    // spilling, only claims other than data clusters could reach it.
    std::uint64_t claims_memory_limit = std::uint64_t{64} << 20;
};

struct qcow2_stream_stats {
    std::uint64_t stream_bytes = 0;         // bytes read from the source
    std::uint64_t data_clusters = 0;        // standard clusters written
    std::uint64_t compressed_clusters = 0;  // compressed clusters inflated and written
    std::uint64_t window_peak = 0;          // most bytes the window held in memory at once
    std::uint64_t spill_bytes_written = 0;  // bytes written to scratch: 0 for qemu-img's own layout
    std::uint64_t spill_peak = 0;           // most scratch bytes in use at once
    std::uint64_t passed_over = 0;          // bytes passed over as positions only (range reader)
    std::uint64_t reread_bytes = 0;         // bytes of those read again from the origin
    std::uint64_t tables_read_ahead = 0;    // L1 and L2 tables read by position before the stream got there
    std::uint64_t read_ahead_bytes = 0;     // their bytes
    std::uint64_t queue_peak = 0;           // most bytes the clusters waiting ahead took in memory at once
    std::uint64_t queue_spilled_bytes = 0;  // bytes of those written to scratch (past queue_memory_limit)
};

class qcow2_stream_decoder {
public:
    // Reads and checks the first cluster of src (the header): the virtual size is known before any
    // output exists, so the caller can check capacity first.
    static result<qcow2_stream_decoder> start(source& src, const qcow2_stream_options& opts = {});

    const qcow2_header& header() const noexcept { return header_; }
    std::uint64_t virtual_size() const noexcept { return geo_.virtual_size; }

    // Reads the rest of the stream to its end, writing the guest image to out, then flushes it.
    // Called once.
    result<qcow2_stream_stats> run(positional_output& out);

private:
    struct claim_info {
        host_use use = host_use::data;
        std::uint64_t len = 0;
        std::uint64_t guest = 0;      // guest offset of the cluster / first byte an L2 table maps
        std::uint32_t data_mask = 0;  // data: subclusters to copy
        bool read_ahead = false;      // a table read by position already: its bytes pass unused
    };
    struct gather {
        std::uint64_t off = 0;
        claim_info info;
        std::vector<std::byte> bytes;
        std::uint64_t have = 0;
        std::vector<range_part> reread;  // parts of bytes still to be read again from the origin
    };

    qcow2_stream_decoder(source& src, const qcow2_stream_options& opts, qcow2_header h);

    result<qcow2_stream_stats> run_to_end(positional_output& out);
    result<void> process_chunk(std::uint64_t base, std::span<const std::byte> chunk);
    // Claims the host range (overlaps refused), then enqueues it.
    result<void> add_claim(std::uint64_t off, const claim_info& c);
    // errc::bad_image once the claims take more than claims_memory_limit.
    result<void> check_claims_memory() const;
    // A queued data cluster the stream has reached: claimed now (overlaps refused), then collected.
    result<void> collect_queued(const cluster_queue::cluster& q);
    // Ahead of the current chunk: pending; in it or behind it: collected now.
    result<void> enqueue(std::uint64_t off, const claim_info& c);
    result<void> collect(std::uint64_t off, const claim_info& c);
    result<void> feed(gather& g);
    // A gather with all its bytes but those to read again: handled now, or queued for the next batch.
    result<void> ready(gather&& g);
    // Reads every queued gather's missing parts (in batches) and handles them.
    result<void> reread_awaiting();
    // Reads the batch's parts from the origin in one read, then handles each gather: the bytes read.
    result<std::uint64_t> read_and_handle(std::vector<gather>& batch);
    // When the window fills: reads the far tables by position, handles them, and reads again what
    // their entries claim behind the stream, until no far table is left or the claims bound is hit.
    result<void> read_tables_ahead();
    // One batch of far tables (at most batch_bytes); false when none was eligible.
    result<bool> read_ahead_batch();
    result<void> handle(std::uint64_t off, const claim_info& c, std::span<const std::byte> bytes);
    result<void> handle_l1(std::span<const std::byte> bytes);
    result<void> handle_l2(const claim_info& c, std::span<const std::byte> bytes);
    result<void> handle_refcount_table(std::span<const std::byte> bytes);
    result<void> handle_data(const claim_info& c, std::span<const std::byte> bytes);
    result<void> handle_compressed(const claim_info& c, std::span<const std::byte> bytes);
    // Writes guest bytes (cut at the virtual size); all-zero bytes become a hole.
    result<void> emit(std::uint64_t guest, std::span<const std::byte> bytes);
    result<void> emit_zeros(std::uint64_t guest, std::uint64_t len);
    void table_done();
    void cover(std::uint64_t from, std::uint64_t to);
    result<void> finish();

    source* src_;
    qcow2_stream_options opts_;
    qcow2_header header_;
    qcow2_geometry geo_;
    std::unique_ptr<inflate_worker> worker_;  // started at the first compressed cluster
    host_claims claims_;
    stream_window window_;
    positional_output* out_ = nullptr;
    std::multimap<std::uint64_t, claim_info> pending_;  // claims ahead of the current chunk, by host offset
    cluster_queue queued_;  // data clusters ahead of the current chunk (not yet in claims_): most claims
    std::vector<gather> gathers_;                       // claims that started in a chunk already read
    std::vector<gather> awaiting_;                      // complete but for parts to read again
    std::uint64_t awaiting_bytes_ = 0;
    std::uint64_t chunk_base_ = 0;                      // host offset of chunk_[0]
    std::span<const std::byte> chunk_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> covered_;  // claimed ranges of the current chunk
    std::set<std::uint64_t> far_tables_;  // pending tables more than a window ahead when named (with a reader)
    std::uint64_t tables_outstanding_ = 0;  // L1 and L2 tables named but not yet read
    bool tables_complete_ = false;
    qcow2_stream_stats stats_;
};

}  // namespace cdi
