#pragma once
// The data clusters a stream-order qcow2 decode has seen named by an L2 table but not yet reached in
// the stream, kept compactly (8 bytes each) and handed back in host order as the stream reaches them.
//
// Why its own structure: an image written by a guest over time (a VM's disk uploaded as it is) has
// its L2 tables early and its data scattered after them, so most clusters it holds wait ahead of the
// stream at once. As general claims (a multimap node and a host_claims range) they took ~90 bytes
// each. Here a cluster is one 64-bit key, its host cluster number above its index in the table
// (the host offset is below 2^56 and cluster-aligned, qemu's L2 entry format: 56 - cluster_bits bits,
// and the index takes cluster_bits - 3 or - 4, so 53 bits at most), so keys sort by host offset;
// extended L2 tables add their subcluster masks, 4 bytes per entry of the table. 8 million clusters
// (512 GiB of 64 KiB clusters) take 64 MiB. Each table's keys are one sorted run; runs are merged
// through a heap keyed by each run's next offset, so a pop costs O(log tables), not O(log clusters).
//
// Memory nearly flat whatever the image: the tables' runs take at most memory_limit; a table that
// would pass it sends every run in memory, its own included, to a scratch file (stream_spill:
// unnamed, freed on any exit, O_DIRECT under CACHE_MODE=TRYNONE) as one run merged in host order,
// 16-byte records (key, table number, mask), of which only the next `buffered` stay in memory, read
// again from the file as it drains: an external merge sort's runs. Each spilled run holds what
// filled memory_limit (2 million clusters at 16 MiB) and costs ~2.2 KiB in memory, so the memory
// grows by ~1 MiB per billion clusters named ahead. Without a scratch directory, a table past the
// limit is errc::scratch_required: the importer asks CDI for a scratch volume and the next pod
// spills.
//
// The queue checks nothing but the entries' form: the decoder claims a cluster's bytes (host_claims)
// when it pops it, which refuses an overlap with any structure claimed by then; whatever overlaps a
// cluster later is refused by that claim. Thread-safety: none.
#include "cdi/error.hpp"
#include "convert/qcow2_stream_spill.hpp"

#include <cstdint>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

namespace cdi {

struct cluster_queue_options {
    std::uint64_t memory_limit = UINT64_MAX;  // bytes the tables' runs keep in memory; past it they spill
    std::optional<spill_options> spill;       // where they spill; none: past the limit is scratch_required
    std::size_t buffered = 128;               // records of a spilled run kept in memory
};

class cluster_queue {
public:
    struct entry {
        std::uint64_t host = 0;       // host offset of the cluster's first byte (cluster-aligned)
        std::uint32_t index = 0;      // its entry in the table (guest = the run's base + index * cluster)
        std::uint32_t data_mask = 0;  // extended L2: the allocated subclusters
    };
    struct cluster {
        std::uint64_t host = 0;
        std::uint64_t guest = 0;
        std::uint32_t data_mask = 0;  // ~0 without extended L2
    };

    // cluster_bits and whether the L2 tables are extended (16-byte entries, subcluster masks).
    cluster_queue(std::uint32_t cluster_bits, bool extended, cluster_queue_options opts = {});

    // One table's clusters ahead of the stream, in any order; guest_base is the first byte the table
    // maps (a multiple of what one table maps). errc::corrupt_image (nothing added) when an entry is
    // not cluster-aligned, lies at or past 2^56, or its index is past the table, or guest_base is not
    // a table's: the decoder never passes one. Past memory_limit: spilled, or errc::scratch_required
    // without a spill directory; the spill's own errors (errc::no_space, errc::io) as they come,
    // after which the queue is not used again (the decode has failed).
    result<void> add(std::uint64_t guest_base, const std::vector<entry>& entries);

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    // Bytes the queue takes in memory: the tables' runs and the spilled runs' buffers (what the
    // claims' memory bound counts).
    std::uint64_t bytes() const noexcept { return table_bytes_ + spilled_bytes_in_memory_; }
    // Runs written to the scratch file so far, and the bytes written for them.
    std::uint64_t spilled_runs() const noexcept { return spilled_runs_; }
    std::uint64_t spilled_bytes() const noexcept { return spill_ ? spill_->bytes_written() : 0; }
    // Host offset of the next cluster (the smallest); the queue must not be empty.
    std::uint64_t next_host() const noexcept { return host_of(heap_.top().first); }
    // What a table's run costs in memory besides its keys and masks (its slot and its heap entry).
    static constexpr std::uint64_t table_overhead = 80;

    // Removes and returns the next cluster; the queue must not be empty. A spilled run reads its next
    // records here: the spill's errors come back.
    result<cluster> pop();

private:
    // One L2 table's clusters, in memory.
    struct table_run {
        std::uint64_t guest_base = 0;
        std::vector<std::uint64_t> keys;   // sorted: by host offset
        std::vector<std::uint32_t> masks;  // extended L2: by index in the table; else empty
        std::size_t next = 0;
        std::uint64_t bytes() const noexcept;
    };
    struct record {
        std::uint64_t key = 0;
        std::uint32_t table = 0;  // guest_base / what one table maps
        std::uint32_t mask = 0;
    };
    static_assert(sizeof(record) == 16);
    // Several tables' clusters merged in host order, in the spill file but for the next ones.
    struct spilled_run {
        std::vector<record> buffer;
        std::size_t next = 0;
        std::uint64_t file_at = 0;       // file offset of the first record not in the buffer
        std::uint64_t file_records = 0;  // records still in the file
        std::uint64_t bytes() const noexcept;
    };
    // The heap's entries: (next key, slot); a slot with spilled_slot set is in spilled_.
    using key = std::pair<std::uint64_t, std::uint32_t>;
    static constexpr std::uint32_t spilled_slot = 1u << 31;

    std::uint64_t host_of(std::uint64_t k) const noexcept { return (k >> index_bits_) << cluster_bits_; }
    std::uint32_t index_of(std::uint64_t k) const noexcept { return static_cast<std::uint32_t>(k & ((std::uint64_t{1} << index_bits_) - 1)); }
    // log2 of the guest bytes one table maps: a table's number is its guest base shifted by it.
    std::uint32_t span_bits() const noexcept { return cluster_bits_ + index_bits_; }
    // Merges every table run in memory and t into one run in the spill file; the heap is rebuilt.
    result<void> spill_tables(table_run&& t);
    // Reads a spilled run's next records into its buffer (released in the file once read).
    result<void> refill(spilled_run& r);
    cluster pop_table(std::uint32_t slot);
    result<cluster> pop_spilled(std::uint32_t slot);

    std::uint32_t cluster_bits_;
    std::uint32_t index_bits_;  // log2 of the entries in one table
    bool extended_;
    cluster_queue_options opts_;
    std::optional<stream_spill> spill_;  // from the first spilled run
    std::vector<table_run> tables_;      // by slot; a drained run's slot is reused
    std::vector<std::uint32_t> free_tables_;
    std::vector<spilled_run> spilled_;   // by slot (spilled_slot cleared); a drained one's slot is reused
    std::vector<std::uint32_t> free_spilled_;
    std::priority_queue<key, std::vector<key>, std::greater<>> heap_;
    std::size_t size_ = 0;
    std::uint64_t table_bytes_ = 0;
    std::uint64_t spilled_bytes_in_memory_ = 0;
    std::uint64_t spilled_runs_ = 0;
};

}  // namespace cdi
