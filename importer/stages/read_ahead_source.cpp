#include "importer/stages/read_ahead_source.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

read_ahead_source::read_ahead_source(source_ptr upstream, std::size_t slots, std::size_t slot_size)
    : upstream_(std::move(upstream)), hint_(upstream_->size_hint()), slot_size_(std::max<std::size_t>(slot_size, 1)) {
    buffers_.resize(std::max<std::size_t>(slots, 1));
}

read_ahead_source::~read_ahead_source() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    upstream_->interrupt();  // a read waiting on the network returns soon
    thread_.join();
}

void read_ahead_source::interrupt() noexcept { upstream_->interrupt(); }

void read_ahead_source::fill() {
    for (;;) {
        std::size_t slot = 0;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return stopping_ || !free_.empty(); });
            if (stopping_) return;
            slot = free_.back();
            free_.pop_back();
        }
        const std::span<std::byte> buf(buffers_[slot].get(), slot_size_);
        std::size_t len = 0;
        std::optional<error> failed;
        bool end = false;
        while (len < buf.size()) {
            auto n = upstream_->read(buf.subspan(len));
            if (!n) {
                failed = n.error();
                break;
            }
            if (*n == 0) {
                end = true;
                break;
            }
            len += *n;
        }
        {
            std::lock_guard lock(mutex_);
            if (len > 0) full_.push_back({slot, len});
            else free_.push_back(slot);
            if (failed || end) {
                ended_ = true;
                end_error_ = std::move(failed);
            }
        }
        changed_.notify_all();
        if (failed || end) return;
    }
}

result<std::size_t> read_ahead_source::read(std::span<std::byte> buf) {
    if (buf.empty()) return std::size_t{0};
    if (!thread_.joinable()) {  // the first read: the slots and the thread
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < buffers_.size(); ++i) {
            buffers_[i] = std::make_unique_for_overwrite<std::byte[]>(slot_size_);
            free_.push_back(i);
        }
        thread_ = std::thread([this] { fill(); });
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !full_.empty() || ended_; });
    if (full_.empty()) {
        if (end_error_) return *end_error_;
        return std::size_t{0};
    }
    // Only this thread pops full_ and moves taken_, and the filling thread never touches a full
    // slot: the copy runs without the lock.
    const filled f = full_.front();
    lock.unlock();
    const std::size_t n = std::min(buf.size(), f.len - taken_);
    std::memcpy(buf.data(), buffers_[f.slot].get() + taken_, n);
    taken_ += n;
    if (taken_ == f.len) {
        lock.lock();
        free_.push_back(f.slot);
        full_.pop_front();
        lock.unlock();
        taken_ = 0;
        changed_.notify_all();
    }
    return n;
}

}  // namespace cdi
