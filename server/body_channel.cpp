#include "server/body_channel.hpp"

#include <boost/asio/post.hpp>

namespace cdi {

body_channel::body_channel(boost::asio::any_io_executor io, std::size_t chunks)
    : pool_(chunks * chunk_size), chunks_(chunks), wake_(io) {
    for (std::size_t i = chunks; i > 0; --i) free_.push_back(i - 1);
}

std::span<std::byte> body_channel::acquire() {
    std::lock_guard lock(mutex_);
    if (acquired_) return {pool_.data() + *acquired_ * chunk_size, chunk_size};
    if (free_.empty() || consumer_closed_) return {};
    acquired_ = free_.back();
    free_.pop_back();
    return {pool_.data() + *acquired_ * chunk_size, chunk_size};
}

void body_channel::push(std::size_t n) {
    {
        std::lock_guard lock(mutex_);
        if (!acquired_) return;
        if (n == 0) return;  // keep the chunk for the next read
        full_.emplace_back(*acquired_, n);
        acquired_.reset();
    }
    cv_.notify_one();
}

void body_channel::finish() {
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
    }
    cv_.notify_one();
}

void body_channel::fail(error e) {
    {
        std::lock_guard lock(mutex_);
        if (!failure_) failure_ = std::move(e);
    }
    cv_.notify_one();
}

bool body_channel::consumer_closed() const {
    std::lock_guard lock(mutex_);
    return consumer_closed_;
}

result<std::optional<body_channel::filled>> body_channel::pop() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !full_.empty() || finished_ || failure_; });
    // A failure wins over data still queued: the job must not complete on a body cut short.
    if (failure_) return *failure_;
    if (full_.empty()) return std::optional<filled>{};
    auto [index, n] = full_.front();
    full_.pop_front();
    return std::optional<filled>{filled{index, {pool_.data() + index * chunk_size, n}}};
}

void body_channel::release(std::size_t index) {
    {
        std::lock_guard lock(mutex_);
        free_.push_back(index);
    }
    notify_io();
}

void body_channel::close_consumer() {
    {
        std::lock_guard lock(mutex_);
        consumer_closed_ = true;
    }
    notify_io();
}

void body_channel::notify_io() {
    boost::asio::post(wake_.get_executor(), [self = shared_from_this()] {
        self->wake_.cancel();
        if (self->abort_read_ && self->consumer_closed()) self->abort_read_();
    });
}

}  // namespace cdi
