#include "convert/sparse_writer.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace cdi {

bool is_zero(std::span<const std::byte> data) noexcept {
    const std::byte* p = data.data();
    std::size_t n = data.size();
    // Look at the head word by word first (data blocks almost always fail here), then compare the
    // buffer with itself shifted by 16 bytes: memcmp runs at memory speed.
    constexpr std::size_t head = 16;
    std::size_t h = std::min(n, head);
    for (std::size_t i = 0; i < h; ++i) {
        if (p[i] != std::byte{0}) return false;
    }
    return n <= head || std::memcmp(p, p + head, n - head) == 0;
}

sparse_writer::sparse_writer(sink& target, std::size_t block)
    : target_(target), block_(block), pending_(block), offset_(target.offset()) {}

result<void> sparse_writer::check_capacity(std::uint64_t len) const {
    auto cap = target_.capacity();
    if (cap && (len > *cap || offset_ > *cap - len)) {
        return make_error(errc::too_large,
                          "image is larger than the target capacity of " + std::to_string(*cap) + " bytes");
    }
    return {};
}

result<void> sparse_writer::emit_zeros() {
    if (zero_run_ == 0) return {};
    if (auto r = target_.zero(zero_run_); !r) return r;
    zero_bytes_ += zero_run_;
    zero_run_ = 0;
    return {};
}

result<void> sparse_writer::emit_data(std::span<const std::byte> data) {
    if (auto r = emit_zeros(); !r) return r;
    if (auto r = target_.write(data); !r) return r;
    data_bytes_ += data.size();
    return {};
}

result<void> sparse_writer::emit_pending() {
    std::span<const std::byte> bytes(pending_.data(), pending_len_);
    pending_len_ = 0;
    if (is_zero(bytes)) {
        zero_run_ += bytes.size();
        return {};
    }
    return emit_data(bytes);
}

result<void> sparse_writer::scan_blocks(std::span<const std::byte> data) {
    std::size_t i = 0;
    bool zero = is_zero(data.first(block_));
    while (i < data.size()) {
        // Extend the run [i, j) while blocks keep the same class; `next` is the class of block j.
        std::size_t j = i + block_;
        bool next = zero;
        while (j < data.size() && (next = is_zero(data.subspan(j, block_))) == zero) j += block_;
        if (zero) {
            zero_run_ += j - i;
        } else if (auto r = emit_data(data.subspan(i, j - i)); !r) {
            return r;
        }
        i = j;
        zero = next;
    }
    return {};
}

result<void> sparse_writer::write(std::span<const std::byte> data) {
    if (data.empty()) return {};
    if (auto r = check_capacity(data.size()); !r) return r;
    // Complete the block the stream offset is in.
    if (std::size_t into = static_cast<std::size_t>(offset_ % block_); into != 0 || pending_len_ != 0) {
        std::size_t k = std::min(block_ - into, data.size());
        std::memcpy(pending_.data() + pending_len_, data.data(), k);
        pending_len_ += k;
        offset_ += k;
        data = data.subspan(k);
        if (offset_ % block_ == 0) {
            if (auto r = emit_pending(); !r) return r;
        }
    }
    std::size_t whole = data.size() - data.size() % block_;
    if (whole > 0) {
        if (auto r = scan_blocks(data.first(whole)); !r) return r;
        offset_ += whole;
        data = data.subspan(whole);
    }
    if (!data.empty()) {
        std::memcpy(pending_.data(), data.data(), data.size());
        pending_len_ = data.size();
        offset_ += data.size();
    }
    return {};
}

result<void> sparse_writer::zero(std::uint64_t len) {
    if (len == 0) return {};
    if (auto r = check_capacity(len); !r) return r;
    if (pending_len_ > 0) {
        if (auto r = emit_pending(); !r) return r;
    }
    zero_run_ += len;
    offset_ += len;
    return {};
}

result<void> sparse_writer::flush() {
    if (pending_len_ > 0) {
        if (auto r = emit_pending(); !r) return r;
    }
    if (auto r = emit_zeros(); !r) return r;
    return target_.flush();
}

}  // namespace cdi
