#include "importer/stages/xz_source.hpp"

#include <lzma.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace cdi {

namespace {

// One read from upstream fills up to this much; the MT decoder hands whole blocks to its threads.
constexpr std::size_t input_size = std::size_t{1} << 20;
// liblzma's LZMA_THREADS_MAX (not in its public headers); more threads is LZMA_OPTIONS_ERROR.
constexpr std::uint32_t max_threads = 16384;
// Stream header magic (xz file format 2.1.1.1); a stream footer is 12 bytes ending in "YZ".
constexpr std::uint8_t header_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr std::size_t footer_size = 12;

std::string mib(std::uint64_t bytes) {
    return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}

// Translates a failed lzma_code / set-up once, keeping liblzma's lzma_ret name in the context.
error translate(lzma_ret rc, const lzma_stream& s, std::uint64_t memlimit) {
    switch (rc) {
    case LZMA_BUF_ERROR:
        if (s.total_in == 0) return make_error(errc::truncated, "xz stream is empty");
        return make_error(errc::truncated, "xz stream ends before its end (LZMA_BUF_ERROR)");
    case LZMA_MEMLIMIT_ERROR:
        return make_error(errc::decompress, "xz: LZMA_MEMLIMIT_ERROR: decoding needs " + mib(lzma_memusage(&s)) +
                                                ", more than the memory limit of " + mib(memlimit));
    case LZMA_FORMAT_ERROR: return make_error(errc::decompress, "xz: LZMA_FORMAT_ERROR: not an xz stream");
    case LZMA_DATA_ERROR:
        return make_error(errc::decompress,
                          "xz: LZMA_DATA_ERROR: compressed data is corrupt or followed by trailing garbage");
    case LZMA_OPTIONS_ERROR: return make_error(errc::decompress, "xz: LZMA_OPTIONS_ERROR: unsupported options");
    case LZMA_UNSUPPORTED_CHECK: return make_error(errc::decompress, "xz: LZMA_UNSUPPORTED_CHECK");
    case LZMA_MEM_ERROR: return make_error(errc::decompress, "xz: LZMA_MEM_ERROR: cannot allocate memory");
    case LZMA_PROG_ERROR: return make_error(errc::decompress, "xz: LZMA_PROG_ERROR");
    default: return make_error(errc::decompress, "xz: unexpected lzma_ret " + std::to_string(static_cast<int>(rc)));
    }
}

}  // namespace

struct xz_source::decoder {
    decoder() = default;
    decoder(const decoder&) = delete;
    decoder& operator=(const decoder&) = delete;
    ~decoder() { lzma_end(&strm); }
    lzma_stream strm = LZMA_STREAM_INIT;
};

xz_source::xz_source(source_ptr upstream, xz_options opts) : upstream_(std::move(upstream)), opts_(opts) {}

xz_source::~xz_source() = default;

result<void> xz_source::set_up() {
    auto d = std::make_unique<decoder>();
    lzma_mt mt{};
    mt.flags = LZMA_CONCATENATED;
    mt.threads = opts_.threads != 0 ? opts_.threads : std::max<std::uint32_t>(1, lzma_cputhreads());
    mt.threads = std::min(mt.threads, max_threads);
    mt.timeout = 0;  // block until output is ready: read() returns only with data, the end, or an error
    // Over memlimit_threading the decoder falls back to one thread; over memlimit_stop it fails.
    mt.memlimit_threading = std::min(opts_.threading_memlimit, opts_.memlimit);
    mt.memlimit_stop = opts_.memlimit;
    const lzma_ret rc = lzma_stream_decoder_mt(&d->strm, &mt);
    if (rc != LZMA_OK) return translate(rc, d->strm, opts_.memlimit);
    dec_ = std::move(d);
    in_ = std::make_unique_for_overwrite<std::byte[]>(input_size);
    return {};
}

result<std::size_t> xz_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return 0;
    if (!dec_) {
        if (auto r = set_up(); !r) return r.error();
    }
    lzma_stream& s = dec_->strm;
    std::size_t made = 0;
    for (;;) {
        if (s.avail_in == 0 && !upstream_eof_) {
            // Deliver what we have rather than wait on upstream for more.
            if (made > 0) return made;
            auto n = upstream_->read(std::span<std::byte>(in_.get(), input_size));
            if (!n) return n.error();
            s.next_in = reinterpret_cast<const std::uint8_t*>(in_.get());
            s.avail_in = *n;
            remember_tail(std::span<const std::byte>(in_.get(), *n));
            if (*n == 0) upstream_eof_ = true;
            continue;
        }
        s.next_out = reinterpret_cast<std::uint8_t*>(buf.data() + made);
        s.avail_out = buf.size() - made;
        // LZMA_FINISH only once upstream ended: with LZMA_CONCATENATED that is what tells the
        // decoder no further stream follows. No progress under LZMA_FINISH becomes LZMA_BUF_ERROR.
        const lzma_ret rc = lzma_code(&s, upstream_eof_ ? LZMA_FINISH : LZMA_RUN);
        made = buf.size() - s.avail_out;
        if (rc == LZMA_STREAM_END) {
            done_ = true;
            return made;
        }
        if (rc == LZMA_BUF_ERROR && tail_is_garbage_after_stream()) {
            return make_error(errc::decompress, "trailing garbage after xz stream");
        }
        if (rc != LZMA_OK) return translate(rc, s, opts_.memlimit);
        if (made == buf.size()) return made;
    }
}

void xz_source::remember_tail(std::span<const std::byte> data) {
    if (data.size() >= tail_.size()) {
        std::memcpy(tail_.data(), data.data() + data.size() - tail_.size(), tail_.size());
        tail_len_ = tail_.size();
        return;
    }
    const std::size_t keep = std::min(tail_len_, tail_.size() - data.size());
    std::memmove(tail_.data(), tail_.data() + tail_len_ - keep, keep);
    std::memcpy(tail_.data() + keep, data.data(), data.size());
    tail_len_ = keep + data.size();
}

// True when the input ends with a valid stream footer followed by bytes that are neither stream
// padding (zeros in groups of four) nor the start of another stream header. liblzma reports that as
// LZMA_BUF_ERROR (it waits for a whole 12-byte header before checking the magic).
bool xz_source::tail_is_garbage_after_stream() const {
    for (std::size_t at = tail_len_; at-- > footer_size;) {
        const std::uint8_t* footer = tail_.data() + at - footer_size;
        lzma_stream_flags flags;
        if (footer[10] != 'Y' || footer[11] != 'Z' || lzma_stream_footer_decode(&flags, footer) != LZMA_OK) continue;
        std::size_t i = at;
        while (i < tail_len_ && tail_[i] == 0) ++i;
        const std::size_t zeros = i - at, rest = tail_len_ - i;
        if (rest == 0) return zeros % 4 != 0;
        const bool starts_header = zeros % 4 == 0 && rest < sizeof(header_magic) &&
                                   std::memcmp(tail_.data() + i, header_magic, rest) == 0;
        return !starts_header;
    }
    return false;
}

}  // namespace cdi
