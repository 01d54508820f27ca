#include "convert/qcow2_stream_queue.hpp"

#include <algorithm>
#include <span>
#include <string>

namespace cdi {
namespace {

// A spilled run's share of the spill file's index (one map node for its records still in use).
constexpr std::uint64_t spilled_index_bytes = 64;
// Records merged before they are appended to the spill file.
constexpr std::size_t merge_batch = 4096;

template <class T>
std::span<const std::byte> as_bytes_of(const std::vector<T>& v) {
    return std::as_bytes(std::span(v));
}

// A slot of `slots` for a new run: a drained one's if any, else a new one at the end.
template <class Run>
std::uint32_t take_slot(std::vector<Run>& slots, std::vector<std::uint32_t>& free) {
    if (free.empty()) {
        slots.emplace_back();
        return static_cast<std::uint32_t>(slots.size() - 1);
    }
    const std::uint32_t slot = free.back();
    free.pop_back();
    return slot;
}

}  // namespace

std::uint64_t cluster_queue::table_run::bytes() const noexcept {
    static_assert(sizeof(table_run) + sizeof(key) <= table_overhead);
    return keys.capacity() * 8 + masks.capacity() * 4 + table_overhead;
}

std::uint64_t cluster_queue::spilled_run::bytes() const noexcept {
    return buffer.capacity() * sizeof(record) + sizeof(spilled_run) + spilled_index_bytes;
}

cluster_queue::cluster_queue(std::uint32_t cluster_bits, bool extended, cluster_queue_options opts)
    : cluster_bits_(cluster_bits), index_bits_(cluster_bits - (extended ? 4 : 3)), extended_(extended), opts_(std::move(opts)) {
    opts_.buffered = std::max<std::size_t>(opts_.buffered, 1);
}

result<void> cluster_queue::add(std::uint64_t guest_base, const std::vector<entry>& entries) {
    if (entries.empty()) return {};
    if (guest_base % (std::uint64_t{1} << span_bits()) != 0 || guest_base >> span_bits() >> 32 != 0) {
        return make_error(errc::corrupt_image, "qcow2 L2 table at guest offset " + std::to_string(guest_base) + " is not a table's");
    }
    table_run t{guest_base, {}, {}, 0};
    t.keys.reserve(entries.size());
    if (extended_) t.masks.assign(std::size_t{1} << index_bits_, 0);
    const std::uint64_t cluster_mask = (std::uint64_t{1} << cluster_bits_) - 1;
    for (const auto& e : entries) {
        if ((e.host & cluster_mask) != 0 || e.host >> 56 != 0 || e.index >> index_bits_ != 0) {
            return make_error(errc::corrupt_image, "qcow2 L2 entry " + std::to_string(e.index) + " maps host offset " + std::to_string(e.host) +
                                                       ", which no qcow2 data cluster can have");
        }
        t.keys.push_back((e.host >> cluster_bits_) << index_bits_ | e.index);
        if (extended_) t.masks[e.index] = e.data_mask;
    }
    std::sort(t.keys.begin(), t.keys.end());
    const std::size_t n = t.keys.size();
    if (table_bytes_ + t.bytes() > opts_.memory_limit) {
        if (!opts_.spill) {
            return make_error(errc::scratch_required, "qcow2 tables name " + std::to_string(size_ + n) + " data clusters ahead of the stream, more than " +
                                                          std::to_string(opts_.memory_limit >> 20) +
                                                          " MiB of memory can track (a fragmented layout): the rest needs scratch space");
        }
        if (auto r = spill_tables(std::move(t)); !r) return r;
        size_ += n;
        return {};
    }
    const std::uint32_t slot = take_slot(tables_, free_tables_);
    size_ += n;
    table_bytes_ += t.bytes();
    heap_.emplace(t.keys.front(), slot);
    tables_[slot] = std::move(t);
    return {};
}

result<void> cluster_queue::spill_tables(table_run&& incoming) {
    if (!spill_) spill_.emplace(*opts_.spill);
    // Every table run with clusters left, merged by a heap of their next keys (the queue's own heap
    // holds them too, with the spilled runs: it is rebuilt below).
    std::vector<table_run> runs;
    for (auto& t : tables_) {
        if (t.next < t.keys.size()) runs.push_back(std::move(t));
    }
    runs.push_back(std::move(incoming));
    std::priority_queue<key, std::vector<key>, std::greater<>> merge;
    for (std::uint32_t i = 0; i < runs.size(); ++i) merge.emplace(runs[i].keys[runs[i].next], i);
    std::vector<record> batch;
    batch.reserve(merge_batch);
    std::optional<std::uint64_t> first;
    std::uint64_t records = 0;
    while (!merge.empty()) {
        auto [k, i] = merge.top();
        merge.pop();
        table_run& t = runs[i];
        batch.push_back({k, static_cast<std::uint32_t>(t.guest_base >> span_bits()), extended_ ? t.masks[index_of(k)] : 0});
        if (++t.next < t.keys.size()) merge.emplace(t.keys[t.next], i);
        if (batch.size() == merge_batch || merge.empty()) {
            auto at = spill_->append(as_bytes_of(batch));
            if (!at) return at.error();
            if (!first) first = *at;
            records += batch.size();
            batch.clear();
        }
    }
    // The table runs are gone: the heap keeps only the spilled runs, the new one included.
    tables_.clear();
    free_tables_.clear();
    table_bytes_ = 0;
    spilled_run r;
    r.file_at = *first;
    r.file_records = records;
    if (auto f = refill(r); !f) return f;
    const std::uint32_t slot = take_slot(spilled_, free_spilled_);
    spilled_bytes_in_memory_ += r.bytes();
    spilled_[slot] = std::move(r);
    ++spilled_runs_;
    heap_ = {};
    for (std::uint32_t s = 0; s < spilled_.size(); ++s) {
        const spilled_run& sr = spilled_[s];
        if (sr.next < sr.buffer.size()) heap_.emplace(sr.buffer[sr.next].key, s | spilled_slot);
    }
    return {};
}

result<void> cluster_queue::refill(spilled_run& r) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(opts_.buffered, r.file_records));
    if (r.buffer.capacity() == 0) r.buffer.reserve(opts_.buffered);
    r.buffer.resize(n);
    const auto bytes = std::as_writable_bytes(std::span(r.buffer));
    if (auto s = spill_->read(r.file_at, bytes); !s) return s.error();
    spill_->release(r.file_at, bytes.size());
    r.file_at += bytes.size();
    r.file_records -= n;
    r.next = 0;
    return {};
}

cluster_queue::cluster cluster_queue::pop_table(std::uint32_t slot) {
    table_run& t = tables_[slot];
    const std::uint64_t k = t.keys[t.next++];
    const cluster c{host_of(k), t.guest_base + (std::uint64_t{index_of(k)} << cluster_bits_), extended_ ? t.masks[index_of(k)] : ~0u};
    if (t.next < t.keys.size()) {
        heap_.emplace(t.keys[t.next], slot);
    } else {
        table_bytes_ -= t.bytes();
        t = table_run{};  // frees the run's keys now
        free_tables_.push_back(slot);
    }
    return c;
}

result<cluster_queue::cluster> cluster_queue::pop_spilled(std::uint32_t slot) {
    spilled_run& r = spilled_[slot];
    const record rec = r.buffer[r.next++];
    const std::uint64_t guest = (std::uint64_t{rec.table} << span_bits()) + (std::uint64_t{index_of(rec.key)} << cluster_bits_);
    const cluster c{host_of(rec.key), guest, extended_ ? rec.mask : ~0u};
    if (r.next == r.buffer.size() && r.file_records > 0) {
        if (auto s = refill(r); !s) return s.error();
    }
    if (r.next < r.buffer.size()) {
        heap_.emplace(r.buffer[r.next].key, slot | spilled_slot);
    } else {
        spilled_bytes_in_memory_ -= r.bytes();
        r = spilled_run{};
        free_spilled_.push_back(slot);
    }
    return c;
}

result<cluster_queue::cluster> cluster_queue::pop() {
    const auto slot = heap_.top().second;
    heap_.pop();
    --size_;
    if (slot & spilled_slot) return pop_spilled(slot & ~spilled_slot);
    return pop_table(slot);
}

}  // namespace cdi
