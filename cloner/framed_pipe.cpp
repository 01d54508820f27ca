#include "cloner/framed_pipe.hpp"

#include "snappy/snappy_framing.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

using snappy_framing::max_block_size;

framed_pipe::framed_pipe(std::size_t slots, std::size_t slot_size)
    : slot_size_(std::max(slot_size, snappy_frame_writer::max_framed_chunk() + 16)),
      block_(std::make_unique_for_overwrite<std::byte[]>(max_block_size)) {
    slots_.resize(std::max<std::size_t>(slots, 2));
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        slots_[i].data = std::make_unique_for_overwrite<std::byte[]>(slot_size_);
        free_.push_back(i);
    }
    filling_ = free_.back();
    free_.pop_back();
    const auto id = snappy_frame_writer::stream_identifier();
    std::memcpy(slots_[*filling_].data.get(), id.data(), id.size());
    slots_[*filling_].used = id.size();
}

result<void> framed_pipe::hand_over() {
    std::unique_lock lock(mu_);
    if (aborted_) return make_error(errc::canceled, "the upload stopped");
    full_.push_back(*filling_);
    filling_.reset();
    cv_.notify_all();
    cv_.wait(lock, [&] { return aborted_ || !free_.empty(); });
    if (aborted_) return make_error(errc::canceled, "the upload stopped");
    filling_ = free_.back();
    free_.pop_back();
    slots_[*filling_].used = 0;
    return {};
}

result<void> framed_pipe::room_for_chunk() {
    if (slot_size_ - slots_[*filling_].used >= snappy_frame_writer::max_framed_chunk()) return {};
    return hand_over();
}

result<void> framed_pipe::frame(std::span<const std::byte> block) {
    if (auto r = room_for_chunk(); !r) return r;
    slot& s = slots_[*filling_];
    s.used += writer_.frame_block(block, std::span<std::byte>(s.data.get() + s.used, slot_size_ - s.used));
    return {};
}

result<void> framed_pipe::write(std::span<const std::byte> data) {
    raw_bytes_.fetch_add(data.size(), std::memory_order_relaxed);
    while (!data.empty()) {
        if (block_len_ == 0 && data.size() >= max_block_size) {  // whole blocks straight from the caller
            if (auto r = frame(data.first(max_block_size)); !r) return r;
            data = data.subspan(max_block_size);
            continue;
        }
        const std::size_t n = std::min(data.size(), max_block_size - block_len_);
        std::memcpy(block_.get() + block_len_, data.data(), n);
        block_len_ += n;
        data = data.subspan(n);
        if (block_len_ == max_block_size) {
            if (auto r = frame(std::span<const std::byte>(block_.get(), block_len_)); !r) return r;
            block_len_ = 0;
        }
    }
    return {};
}

void framed_pipe::finish(result<void> outcome) {
    if (outcome && block_len_ > 0) {
        outcome = frame(std::span<const std::byte>(block_.get(), block_len_));
        block_len_ = 0;
    }
    std::lock_guard lock(mu_);
    if (filling_) {
        if (outcome) full_.push_back(*filling_);
        else free_.push_back(*filling_);
        filling_.reset();
    }
    if (!outcome) failure_ = outcome.error();
    finished_ = true;
    cv_.notify_all();
}

result<std::span<const std::byte>> framed_pipe::next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || finished_; });
    if (full_.empty()) {
        if (failure_) return *failure_;
        return std::span<const std::byte>{};
    }
    sending_ = full_.front();
    full_.pop_front();
    const slot& s = slots_[*sending_];
    return std::span<const std::byte>(s.data.get(), s.used);
}

void framed_pipe::release() {
    std::lock_guard lock(mu_);
    if (!sending_) return;
    free_.push_back(*sending_);
    sending_.reset();
    cv_.notify_all();
}

void framed_pipe::abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    cv_.notify_all();
}

}  // namespace cdi
