#include "convert/write_behind_output.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

write_behind_output::write_behind_output(positional_output& target, std::size_t slots, std::size_t slot_size)
    : target_(target), slot_size_(slot_size) {
    buffers_.reserve(slots);
    for (std::size_t i = 0; i < slots; ++i) {
        buffers_.emplace_back(slot_size + align, align);
        free_.push_back(i);
    }
    thread_ = std::thread([this] { writer(); });
}

write_behind_output::~write_behind_output() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

result<std::size_t> write_behind_output::take_slot() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return failed_ || !free_.empty(); });
    if (failed_) return *failed_;
    const std::size_t s = free_.back();
    free_.pop_back();
    return s;
}

result<void> write_behind_output::enqueue(job j) {
    {
        std::lock_guard lock(mutex_);
        if (failed_) {
            if (j.slot) free_.push_back(*j.slot);
            return *failed_;
        }
        queue_.push_back(j);
    }
    changed_.notify_all();
    return {};
}

result<std::size_t> write_behind_output::append_to_last(std::uint64_t offset, std::span<const std::byte> data) {
    std::lock_guard lock(mutex_);
    if (failed_) return *failed_;
    if (queue_.empty()) return 0;
    job& last = queue_.back();  // the writer copies a job out of the queue before writing it
    if (!last.slot || last.offset + last.len != offset) return 0;
    const std::size_t used = last.lead + static_cast<std::size_t>(last.len);
    const std::size_t n = std::min(data.size(), slot_size_ + align - used);
    if (n == 0) return 0;
    std::memcpy(buffers_[*last.slot].data() + used, data.data(), n);
    last.len += n;
    return n;
}

result<void> write_behind_output::write_at(std::uint64_t offset, std::span<const std::byte> data) {
    while (!data.empty()) {
        auto appended = append_to_last(offset, data);
        if (!appended) return appended.error();
        if (*appended > 0) {
            offset += *appended;
            data = data.subspan(*appended);
            continue;
        }
        const auto lead = static_cast<std::size_t>(offset % align);
        const std::size_t n = std::min(data.size(), slot_size_ + align - lead);
        auto slot = take_slot();
        if (!slot) return slot.error();
        std::memcpy(buffers_[*slot].data() + lead, data.data(), n);
        if (auto r = enqueue(job{offset, n, *slot, lead}); !r) return r;
        offset += n;
        data = data.subspan(n);
    }
    return {};
}

result<void> write_behind_output::zero_at(std::uint64_t offset, std::uint64_t len) {
    return enqueue(job{offset, len, std::nullopt, 0});
}

result<void> write_behind_output::flush() {
    {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return failed_ || (queue_.empty() && !busy_); });
        if (failed_) return *failed_;
    }
    return target_.flush();
}

void write_behind_output::writer() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        const job j = queue_.front();
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        const result<void> r = j.slot ? target_.write_at(j.offset, std::span<const std::byte>(buffers_[*j.slot].data() + j.lead, j.len))
                                      : target_.zero_at(j.offset, j.len);
        lock.lock();
        busy_ = false;
        if (j.slot) free_.push_back(*j.slot);
        if (!r && !failed_) {
            failed_ = r.error();
            // What is still queued is dropped: the job has failed.
            for (const auto& q : queue_) {
                if (q.slot) free_.push_back(*q.slot);
            }
            queue_.clear();
        }
        changed_.notify_all();
    }
}

}  // namespace cdi
