#include "importer/stages/zstd_source.hpp"

#include "cdi/byte_order.hpp"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace cdi {

namespace {

// One read from upstream fills up to this much (libzstd suggests >= ZSTD_DStreamInSize(), 128 KiB).
constexpr std::size_t input_size = std::size_t{1} << 20;
constexpr std::size_t magic_size = 4;

}  // namespace

void zstd_source::dctx_deleter::operator()(ZSTD_DCtx* dctx) const {
    ZSTD_freeDCtx(dctx);
}

zstd_source::zstd_source(source_ptr upstream) : upstream_(std::move(upstream)) {}

zstd_source::~zstd_source() = default;

result<void> zstd_source::set_up() {
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    if (!dctx) return make_error(errc::decompress, "zstd: ZSTD_createDCtx failed (out of memory)");
    dctx_.reset(dctx);
    in_ = std::make_unique_for_overwrite<std::byte[]>(input_size);
    return {};
}

result<void> zstd_source::refill() {
    // Keep unread bytes (at most a partial magic number) at the front.
    const std::size_t keep = in_end_ - in_pos_;
    if (keep > 0 && in_pos_ > 0) std::memmove(in_.get(), in_.get() + in_pos_, keep);
    in_pos_ = 0;
    in_end_ = keep;
    auto n = upstream_->read(std::span<std::byte>(in_.get() + keep, input_size - keep));
    if (!n) return n.error();
    in_end_ += *n;
    if (*n == 0) upstream_eof_ = true;
    return {};
}

result<void> zstd_source::check_next_frame() {
    while (in_end_ - in_pos_ < magic_size && !upstream_eof_) {
        if (auto r = refill(); !r) return r.error();
    }
    const std::size_t avail = in_end_ - in_pos_;
    if (avail == 0) {
        if (frames_ == 0) return make_error(errc::truncated, "zstd stream is empty");
        done_ = true;
        return {};
    }
    // Little-endian magic numbers: a frame, or a skippable frame (any low nibble).
    std::uint8_t head[magic_size] = {};
    std::memcpy(head, in_.get() + in_pos_, std::min(avail, magic_size));
    const std::uint32_t magic = load_le32(std::as_bytes(std::span(head)), 0);
    // Over the first avail bytes only: those are all the input has.
    const std::uint32_t mask = avail >= magic_size ? 0xffffffffu : (1u << (8 * avail)) - 1;
    const bool frame = (magic & mask) == (ZSTD_MAGICNUMBER & mask) ||
                       (magic & mask & ZSTD_MAGIC_SKIPPABLE_MASK) == (ZSTD_MAGIC_SKIPPABLE_START & mask);
    if (!frame) {
        return make_error(errc::decompress, frames_ > 0 ? "trailing garbage after zstd frame"
                                                        : "not a zstd stream (bad magic number)");
    }
    if (avail < magic_size) return make_error(errc::truncated, "zstd stream ends inside a frame's magic number");
    at_boundary_ = false;
    return {};
}

result<std::size_t> zstd_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return 0;
    if (!dctx_) {
        if (auto r = set_up(); !r) return r.error();
    }
    ZSTD_DCtx* dctx = dctx_.get();
    std::size_t made = 0;
    for (;;) {
        if (at_boundary_) {
            if (made > 0) return made;  // deliver before possibly waiting on upstream
            if (auto r = check_next_frame(); !r) return r.error();
            if (done_) return 0;
        }
        if (in_pos_ == in_end_ && !upstream_eof_) {
            if (made > 0) return made;
            if (auto r = refill(); !r) return r.error();
            continue;
        }
        ZSTD_inBuffer in{in_.get() + in_pos_, in_end_ - in_pos_, 0};
        ZSTD_outBuffer out{buf.data() + made, buf.size() - made, 0};
        const std::size_t rc = ZSTD_decompressStream(dctx, &out, &in);
        in_pos_ += in.pos;
        made += out.pos;
        if (ZSTD_isError(rc)) return make_error(errc::decompress, std::string("zstd: ") + ZSTD_getErrorName(rc));
        if (rc == 0) {  // the frame is fully decoded and flushed; libzstd stops at its end
            ++frames_;
            at_boundary_ = true;
        } else if (in.pos == 0 && out.pos == 0) {
            if (in_pos_ < in_end_) return make_error(errc::decompress, "zstd: the decoder made no progress");
            if (upstream_eof_) return make_error(errc::truncated, "zstd stream ends inside a frame");
        }
        if (made == buf.size()) return made;
    }
}

}  // namespace cdi
