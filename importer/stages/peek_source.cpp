#include "importer/stages/peek_source.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

result<std::unique_ptr<peek_source>> peek_source::make(source_ptr upstream, std::size_t window) {
    std::unique_ptr<peek_source> p(new peek_source(std::move(upstream)));
    p->head_.resize(window);
    auto got = read_full(*p->upstream_, p->head_);
    if (!got) return got.error();
    p->head_.resize(*got);
    p->ended_ = *got < window;
    return p;
}

result<std::size_t> peek_source::read(std::span<std::byte> buf) {
    if (buf.empty()) return std::size_t{0};
    if (replayed_ < head_.size()) {
        std::size_t n = std::min(buf.size(), head_.size() - replayed_);
        std::memcpy(buf.data(), head_.data() + replayed_, n);
        replayed_ += n;
        return n;
    }
    if (ended_) return std::size_t{0};
    return upstream_->read(buf);
}

std::optional<std::uint64_t> peek_source::size_hint() const {
    if (ended_) return head_.size();
    return upstream_->size_hint();
}

}  // namespace cdi
