#include "importer/stages/gzip_source.hpp"

#include "cdi/byte_order.hpp"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>

namespace cdi {

namespace {

// One read from upstream fills up to this much; large reads keep the decoder's loop tight.
constexpr std::size_t input_size = std::size_t{1} << 20;
// The libraries count in 32 bits; larger caller buffers are filled in several passes.
constexpr std::size_t max_chunk = std::numeric_limits<std::uint32_t>::max();

constexpr std::uint8_t flag_hcrc = 0x02;
constexpr std::uint8_t flag_extra = 0x04;
constexpr std::uint8_t flag_name = 0x08;
constexpr std::uint8_t flag_comment = 0x10;
constexpr std::uint8_t flag_reserved = 0xe0;

std::uint8_t* u8(std::byte* p) { return reinterpret_cast<std::uint8_t*>(p); }

}  // namespace

// Inflates one member's deflate body and verifies its 8-byte trailer (CRC32, ISIZE).
class gzip_source::inflater {
public:
    struct step {
        std::size_t in_used = 0;
        std::size_t out_made = 0;
        bool member_end = false;  // the trailer was read and matched
    };
    virtual ~inflater() = default;
    // Prepares for the body of a new member.
    virtual result<void> start_member() = 0;
    virtual result<step> run(std::span<std::byte> in, std::span<std::byte> out) = 0;
};

namespace {

std::string_view isal_name(int rc) {
    switch (rc) {
    case ISAL_INVALID_BLOCK: return "ISAL_INVALID_BLOCK: invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "ISAL_INVALID_SYMBOL: invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "ISAL_INVALID_LOOKBACK: invalid lookback distance";
    case ISAL_INVALID_WRAPPER: return "ISAL_INVALID_WRAPPER: invalid wrapper";
    case ISAL_UNSUPPORTED_METHOD: return "ISAL_UNSUPPORTED_METHOD: unsupported method";
    case ISAL_INCORRECT_CHECKSUM: return "ISAL_INCORRECT_CHECKSUM: crc32 or length in the trailer does not match";
    case ISAL_NEED_DICT: return "ISAL_NEED_DICT: needs a dictionary";
    default: return "unknown ISA-L error";
    }
}

// ISA-L igzip. ISAL_GZIP_NO_HDR_VER: the header was parsed by gzip_source; igzip inflates the body
// and verifies CRC32 and ISIZE, consuming exactly the trailer (next_in then points past it).
// ISA-L's own header parser is not used: it loses the header flags when a header spans two calls.
class isal_inflater final : public gzip_source::inflater {
public:
    result<void> start_member() override {
        if (!state_) {
            state_ = std::make_unique<inflate_state>();
            isal_inflate_init(state_.get());
        } else {
            isal_inflate_reset(state_.get());
        }
        state_->crc_flag = ISAL_GZIP_NO_HDR_VER;
        return {};
    }

    result<step> run(std::span<std::byte> in, std::span<std::byte> out) override {
        inflate_state& s = *state_;
        s.next_in = u8(in.data());
        s.avail_in = static_cast<std::uint32_t>(std::min(in.size(), max_chunk));
        s.next_out = u8(out.data());
        s.avail_out = static_cast<std::uint32_t>(std::min(out.size(), max_chunk));
        const int rc = isal_inflate(&s);
        step st;
        st.in_used = static_cast<std::size_t>(s.next_in - u8(in.data()));
        st.out_made = static_cast<std::size_t>(s.next_out - u8(out.data()));
        if (rc < 0) return make_error(errc::decompress, "gzip: " + std::string(isal_name(rc)) + " (isa-l)");
        st.member_end = s.block_state == ISAL_BLOCK_FINISH;
        return st;
    }

private:
    std::unique_ptr<inflate_state> state_;  // ~60 KiB: allocated once, reset per member
};

struct z_stream_deleter {
    void operator()(z_stream* z) const {
        inflateEnd(z);
        delete z;
    }
};

// zlib raw inflate (negative windowBits: no wrapper); CRC32 and ISIZE are computed over the output
// and checked against the trailer here. zlib stops exactly at the end of the deflate data.
class zlib_inflater final : public gzip_source::inflater {
public:
    result<void> start_member() override {
        if (!z_) {
            auto z = std::make_unique<z_stream>();
            const int rc = inflateInit2(z.get(), -MAX_WBITS);
            if (rc != Z_OK) {
                return make_error(errc::decompress, "gzip: inflateInit2 failed: " +
                                                        std::string(z->msg ? z->msg : zError(rc)) + " (zlib)");
            }
            z_.reset(z.release());
        } else if (inflateReset(z_.get()) != Z_OK) {
            return make_error(errc::decompress, "gzip: inflateReset failed (zlib)");
        }
        crc_ = 0;
        size_ = 0;
        in_trailer_ = false;
        trailer_got_ = 0;
        return {};
    }

    result<step> run(std::span<std::byte> in, std::span<std::byte> out) override {
        step st;
        if (!in_trailer_) {
            z_stream& z = *z_;
            z.next_in = u8(in.data());
            z.avail_in = static_cast<uInt>(std::min(in.size(), max_chunk));
            z.next_out = u8(out.data());
            z.avail_out = static_cast<uInt>(std::min(out.size(), max_chunk));
            const int rc = inflate(&z, Z_NO_FLUSH);
            st.in_used = static_cast<std::size_t>(z.next_in - u8(in.data()));
            st.out_made = static_cast<std::size_t>(z.next_out - u8(out.data()));
            crc_ = crc32_gzip_refl(crc_, u8(out.data()), st.out_made);
            size_ += st.out_made;
            if (rc == Z_STREAM_END) {
                in_trailer_ = true;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {  // Z_BUF_ERROR: no progress possible, not fatal
                return make_error(errc::decompress,
                                  "gzip: " + std::string(z.msg ? z.msg : zError(rc)) + " (zlib)");
            }
        }
        if (in_trailer_) {
            const std::size_t n = std::min(trailer_.size() - trailer_got_, in.size() - st.in_used);
            std::memcpy(trailer_.data() + trailer_got_, in.data() + st.in_used, n);
            trailer_got_ += n;
            st.in_used += n;
            if (trailer_got_ == trailer_.size()) {
                if (le32(0) != crc_) return make_error(errc::decompress, "gzip: incorrect data check (zlib)");
                if (le32(4) != static_cast<std::uint32_t>(size_)) {
                    return make_error(errc::decompress, "gzip: incorrect length check (zlib)");
                }
                st.member_end = true;
            }
        }
        return st;
    }

private:
    std::uint32_t le32(std::size_t at) const { return load_le32(std::as_bytes(std::span(trailer_)), at); }

    std::unique_ptr<z_stream, z_stream_deleter> z_;
    std::uint32_t crc_ = 0;
    std::uint64_t size_ = 0;  // ISIZE is this modulo 2^32
    bool in_trailer_ = false;
    std::array<std::uint8_t, 8> trailer_{};
    std::size_t trailer_got_ = 0;
};

}  // namespace

gzip_source::gzip_source(source_ptr upstream, gzip_backend backend)
    : upstream_(std::move(upstream)), backend_(backend) {}

gzip_source::~gzip_source() = default;

result<void> gzip_source::set_up() {
    if (backend_ == gzip_backend::isal) {
        inflater_ = std::make_unique<isal_inflater>();
    } else {
        inflater_ = std::make_unique<zlib_inflater>();
    }
    in_ = std::make_unique_for_overwrite<std::byte[]>(input_size);
    return {};
}

result<void> gzip_source::refill() {
    auto n = upstream_->read(std::span<std::byte>(in_.get(), input_size));
    if (!n) return n.error();
    in_pos_ = 0;
    in_end_ = *n;
    if (*n == 0) upstream_eof_ = true;
    return {};
}

result<std::size_t> gzip_source::read(std::span<std::byte> buf) {
    if (buf.empty() || phase_ == phase::done) return 0;
    if (!in_) {
        if (auto r = set_up(); !r) return r.error();
    }
    std::size_t made = 0;
    for (;;) {
        if (in_pos_ == in_end_ && !upstream_eof_) {
            // Deliver what we have rather than wait on upstream for more.
            if (made > 0) return made;
            if (auto r = refill(); !r) return r.error();
            continue;
        }
        if (phase_ == phase::header) {
            if (in_pos_ == in_end_) {  // upstream ended
                if (step_ != hdr_step::id1) {
                    return make_error(errc::truncated, "gzip stream ends inside a member header");
                }
                if (members_ == 0) return make_error(errc::truncated, "gzip stream is empty");
                phase_ = phase::done;
                return made;
            }
            auto done = parse_header();
            if (!done) return done.error();
            if (!*done) continue;
            if (auto r = inflater_->start_member(); !r) return r.error();
            phase_ = phase::body;
            continue;
        }
        // phase::body
        auto in = std::span<std::byte>(in_.get() + in_pos_, in_end_ - in_pos_);
        auto st = inflater_->run(in, buf.subspan(made));
        if (!st) return st.error();
        in_pos_ += st->in_used;
        made += st->out_made;
        if (st->member_end) {
            ++members_;
            phase_ = phase::header;
            step_ = hdr_step::id1;
        } else if (st->in_used == 0 && st->out_made == 0) {
            if (upstream_eof_ && in_pos_ == in_end_) {
                return make_error(errc::truncated, "gzip stream ends before its trailer");
            }
            if (made < buf.size() && in_pos_ < in_end_) {
                return make_error(errc::decompress, "gzip: the decoder made no progress");
            }
        }
        if (made == buf.size()) return made;
    }
}

result<bool> gzip_source::parse_header() {
    const std::uint8_t* p = u8(in_.get());
    std::size_t i = in_pos_;
    const std::size_t end = in_end_;
    std::size_t crc_from = i;  // header bytes before the FHCRC field are covered by its CRC
    if (step_ == hdr_step::id1) hdr_crc_ = 0;

    // The next field present after the current step, per the flags.
    auto next_after = [this](hdr_step s) {
        switch (s) {
        case hdr_step::fixed_rest:
            if (flags_ & flag_extra) return hdr_step::xlen;
            [[fallthrough]];
        case hdr_step::extra:
            if (flags_ & flag_name) return hdr_step::name;
            [[fallthrough]];
        case hdr_step::name:
            if (flags_ & flag_comment) return hdr_step::comment;
            [[fallthrough]];
        case hdr_step::comment:
            if (flags_ & flag_hcrc) return hdr_step::hcrc;
            [[fallthrough]];
        default: return hdr_step::complete;
        }
    };
    auto enter = [&](hdr_step s) {
        if (s == hdr_step::hcrc) {
            hdr_crc_ = crc32_gzip_refl(hdr_crc_, p + crc_from, i - crc_from);
            crc_from = i;
        }
        step_ = s;
        left_ = s == hdr_step::xlen || s == hdr_step::hcrc ? 2 : left_;
        field_ = 0;
    };
    auto skip_string = [&](hdr_step s) {
        const void* nul = std::memchr(p + i, 0, end - i);
        if (!nul) {
            i = end;
            return;
        }
        i = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - p) + 1;
        enter(next_after(s));
    };

    while (i < end && step_ != hdr_step::complete) {
        switch (step_) {
        case hdr_step::id1:
        case hdr_step::id2: {
            const std::uint8_t want = step_ == hdr_step::id1 ? 0x1f : 0x8b;
            if (p[i++] != want) {
                return make_error(errc::decompress, members_ > 0 ? "trailing garbage after gzip member"
                                                                 : "not a gzip stream (bad magic bytes)");
            }
            step_ = step_ == hdr_step::id1 ? hdr_step::id2 : hdr_step::method;
            break;
        }
        case hdr_step::method:
            if (p[i] != Z_DEFLATED) {
                return make_error(errc::decompress, "gzip: unknown compression method " + std::to_string(p[i]));
            }
            ++i;
            step_ = hdr_step::flags;
            break;
        case hdr_step::flags:
            flags_ = p[i++];
            if (flags_ & flag_reserved) return make_error(errc::decompress, "gzip: unknown header flags set");
            step_ = hdr_step::fixed_rest;
            left_ = 6;  // MTIME, XFL, OS
            break;
        case hdr_step::fixed_rest:
        case hdr_step::extra: {
            const auto n = static_cast<std::uint32_t>(std::min<std::size_t>(left_, end - i));
            i += n;
            left_ -= n;
            if (left_ == 0) enter(next_after(step_));
            break;
        }
        case hdr_step::xlen:
        case hdr_step::hcrc:
            field_ |= static_cast<std::uint32_t>(p[i++]) << (left_ == 2 ? 0 : 8);
            if (--left_ > 0) break;
            if (step_ == hdr_step::xlen) {
                left_ = field_;
                enter(hdr_step::extra);
                if (left_ == 0) enter(next_after(hdr_step::extra));
            } else {
                if (field_ != (hdr_crc_ & 0xffff)) return make_error(errc::decompress, "gzip: header crc mismatch");
                step_ = hdr_step::complete;
            }
            break;
        case hdr_step::name:
        case hdr_step::comment: skip_string(step_); break;
        case hdr_step::complete: break;
        }
    }
    if (step_ < hdr_step::hcrc) hdr_crc_ = crc32_gzip_refl(hdr_crc_, p + crc_from, i - crc_from);
    in_pos_ = i;
    return step_ == hdr_step::complete;
}

}  // namespace cdi
