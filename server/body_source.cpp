#include "server/body_source.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

body_source::body_source(std::shared_ptr<body_channel> channel, std::optional<std::uint64_t> content_length)
    : channel_(std::move(channel)), content_length_(content_length) {}

body_source::~body_source() {
    if (current_) channel_->release(current_->index);
}

result<std::size_t> body_source::read(std::span<std::byte> buf) {
    if (buf.empty() || ended_) return std::size_t{0};
    if (!current_) {
        auto next = channel_->pop();
        if (!next) return next.error();
        if (!*next) {
            ended_ = true;
            return std::size_t{0};
        }
        current_ = **next;
        offset_ = 0;
    }
    const std::size_t n = std::min(buf.size(), current_->data.size() - offset_);
    std::memcpy(buf.data(), current_->data.data() + offset_, n);
    offset_ += n;
    if (offset_ == current_->data.size()) {
        channel_->release(current_->index);
        current_.reset();
    }
    return n;
}

}  // namespace cdi
