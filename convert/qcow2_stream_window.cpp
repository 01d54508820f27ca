#include "convert/qcow2_stream_window.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>

namespace cdi {

result<void> stream_window::put(std::uint64_t off, std::span<const std::byte> data) {
    while (!data.empty()) {
        const std::uint64_t room = cluster_ - off % cluster_;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(room, data.size()));
        if (auto r = put_piece(off, data.first(n)); !r) return r;
        off += n;
        data = data.subspan(n);
    }
    return {};
}

result<void> stream_window::put_piece(std::uint64_t off, std::span<const std::byte> data) {
    // Store only the parts of [off, end) that no piece holds yet.
    const std::uint64_t end = off + data.size();
    std::uint64_t at = off;
    auto it = pieces_.upper_bound(off);
    if (it != pieces_.begin() && std::prev(it)->first + std::prev(it)->second.size() > off) --it;
    while (at < end) {
        std::uint64_t stop = end;
        if (it != pieces_.end() && it->first <= at) {
            at = std::max(at, it->first + it->second.size());
            ++it;
            continue;
        }
        if (it != pieces_.end()) stop = std::min(stop, it->first);
        const std::uint64_t n = stop - at;
        if (held_ + n > limit_) {
            return make_error(errc::scratch_required, "qcow2 layout needs more than " + std::to_string(limit_ >> 20) +
                                                          " MiB of data held before its tables arrive (at offset " + std::to_string(at) + ")");
        }
        const auto first = data.begin() + static_cast<std::ptrdiff_t>(at - off);
        pieces_.emplace_hint(it, at, std::vector<std::byte>(first, first + static_cast<std::ptrdiff_t>(n)));
        held_ += n;
        peak_ = std::max(peak_, held_);
        at = stop;
    }
    return {};
}

bool stream_window::copy_out(std::uint64_t off, std::span<std::byte> out) const {
    const std::uint64_t end = off + out.size();
    std::uint64_t at = off;
    auto it = pieces_.upper_bound(off);
    if (it == pieces_.begin()) return out.empty();
    --it;
    while (at < end) {
        if (it == pieces_.end() || it->first > at) return false;
        const std::uint64_t piece_end = it->first + it->second.size();
        if (piece_end <= at) {
            ++it;
            continue;
        }
        const std::uint64_t n = std::min(end, piece_end) - at;
        std::memcpy(out.data() + (at - off), it->second.data() + (at - it->first), n);
        at += n;
        ++it;
    }
    return true;
}

void stream_window::release(std::uint64_t off, std::uint64_t len) {
    auto it = pieces_.lower_bound(off);
    while (it != pieces_.end() && it->first + it->second.size() <= off + len) {
        held_ -= it->second.size();
        it = pieces_.erase(it);
    }
}

}  // namespace cdi
