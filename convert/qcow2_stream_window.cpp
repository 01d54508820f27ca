#include "convert/qcow2_stream_window.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <string>

namespace cdi {

stream_window::stream_window(std::uint64_t limit, std::uint64_t cluster_size, std::optional<spill_options> spill, bool remote)
    : limit_(limit), cluster_(cluster_size), remote_(remote) {
    if (spill) spill_.emplace(std::move(*spill));  // no file yet: it is created at the first spill
}

stream_window::piece_map::iterator stream_window::first_at_or_after(std::uint64_t off) {
    auto it = pieces_.upper_bound(off);
    if (it != pieces_.begin() && std::prev(it)->first + std::prev(it)->second.len > off) --it;
    return it;
}

result<void> stream_window::put(std::uint64_t off, std::span<const std::byte> data) {
    // Store only the parts of [off, end) that no piece holds yet.
    const std::uint64_t end = off + data.size();
    std::uint64_t at = off;
    auto it = first_at_or_after(off);
    while (at < end) {
        if (it != pieces_.end() && it->first <= at) {
            at = std::max(at, it->first + it->second.len);
            ++it;
            continue;
        }
        const std::uint64_t stop = it != pieces_.end() ? std::min(end, it->first) : end;
        if (auto r = store_gap(at, data.subspan(at - off, stop - at)); !r) return r;
        at = stop;
    }
    return {};
}

result<void> stream_window::store_gap(std::uint64_t off, std::span<const std::byte> data) {
    while (!data.empty()) {
        const std::uint64_t room = cluster_ - off % cluster_;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(room, data.size()));
        if (held_ + n > limit_) {
            // The rest of the gap, as one run: its positions, else its bytes in the spill file.
            if (remote_ && remote_runs_ < max_remote_runs) {
                pieces_.emplace(off, piece{data.size(), 0, {}, true});
                ++remote_runs_;
                remote_total_ += data.size();
                return {};
            }
            if (spill_) return spill_run(off, data);
            return make_error(errc::scratch_required, "qcow2 layout needs more than " + std::to_string(limit_ >> 20) +
                                                          " MiB of data held before its tables arrive (at offset " + std::to_string(off) + ")");
        }
        pieces_.emplace(off, piece{n, 0, std::vector<std::byte>(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n))});
        held_ += n;
        peak_ = std::max(peak_, held_);
        off += n;
        data = data.subspan(n);
    }
    return {};
}

result<void> stream_window::spill_run(std::uint64_t off, std::span<const std::byte> data) {
    auto at = spill_->append(data);
    if (!at) {
        auto e = at.error();
        e.context += " (at offset " + std::to_string(off) + ")";
        return e;
    }
    pieces_.emplace(off, piece{data.size(), *at, {}});
    return {};
}

result<bool> stream_window::copy_out(std::uint64_t off, std::span<std::byte> out, std::vector<range_part>* reread) {
    const std::uint64_t end = off + out.size();
    std::uint64_t at = off;
    for (auto it = first_at_or_after(off); at < end; ++it) {
        if (it == pieces_.end() || it->first > at) return false;
        const piece& p = it->second;
        const std::uint64_t n = std::min(end, it->first + p.len) - at;
        const std::span<std::byte> to = out.subspan(at - off, n);
        if (p.remote) {
            if (!reread) return make_error(errc::io, "bytes at " + std::to_string(at) + " must be read again from the origin");
            reread->push_back({at, to});
        } else if (!p.in_memory()) {
            if (auto r = spill_->read(p.spill_at + (at - it->first), to); !r) return r.error();
        } else {
            std::memcpy(to.data(), p.bytes.data() + (at - it->first), n);
        }
        at += n;
    }
    return true;
}

void stream_window::release(std::uint64_t off, std::uint64_t len) {
    const std::uint64_t end = off + len;
    auto it = first_at_or_after(off);
    while (it != pieces_.end() && it->first < end) {
        if (!it->second.in_memory()) {
            it = release_run(it, off, end);
        } else if (it->first >= off && it->first + it->second.len <= end) {
            held_ -= it->second.len;
            it = pieces_.erase(it);
        } else {
            ++it;
        }
    }
}

stream_window::piece_map::iterator stream_window::release_run(piece_map::iterator it, std::uint64_t off, std::uint64_t end) {
    // The run as if cut at cluster boundaries: the cut pieces lying wholly inside [off, end) form one
    // stretch [lo, hi); the partial clusters at its edges stay, as pieces in memory would.
    const std::uint64_t rs = it->first, re = it->first + it->second.len, spill_at = it->second.spill_at;
    const bool remote = it->second.remote;
    const std::uint64_t x = std::max(rs, off), y = std::min(re, end);
    const std::uint64_t x_cluster = x / cluster_ * cluster_, last_cluster = (y - 1) / cluster_ * cluster_;
    const std::uint64_t lo = std::max(rs, x_cluster) >= off ? x : x_cluster + cluster_;
    const std::uint64_t hi = std::min(re, last_cluster + cluster_) <= end ? y : last_cluster;
    if (lo >= hi) return std::next(it);
    if (!remote) spill_->release(spill_at + (lo - rs), hi - lo);
    auto next = pieces_.erase(it);
    if (remote) --remote_runs_;
    // What stays of a remote run may take two entries: still one per run, counted so.
    const auto keep = [&](std::uint64_t at, std::uint64_t len, std::uint64_t spill_offset) {
        if (remote) ++remote_runs_;
        return pieces_.emplace_hint(next, at, piece{len, spill_offset, {}, remote});
    };
    if (rs < lo) keep(rs, lo - rs, spill_at);
    if (hi < re) next = std::next(keep(hi, re - hi, spill_at + (hi - rs)));
    return next;
}

void stream_window::clear() noexcept {
    pieces_.clear();
    held_ = 0;
    remote_runs_ = 0;
    if (spill_) spill_->clear();
}

}  // namespace cdi
