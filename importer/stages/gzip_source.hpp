#pragma once
// A stage that yields the decompressed bytes of a gzip stream (RFC 1952) read from its upstream.
//
// Contract:
// - Every member of a multi-member stream (`cat a.gz b.gz`) is decoded; the output is byte-exact
//   with `gzip -dc`. Each member's CRC32 and ISIZE trailer is verified before the bytes after it
//   are decoded, and read() returns 0 only once the whole input was consumed and verified.
// - Corrupt data, a bad header, and bytes after a member that do not start another member
//   ("trailing garbage") are errc::decompress; input ending inside a member (or an empty input) is
//   errc::truncated. An upstream error is returned unchanged.
// - The header is parsed here for both backends, so both accept and reject exactly the same
//   streams; the backend only inflates the deflate body and checks the trailer.
// - One 1 MiB input buffer, allocated on the first read; output is inflated straight into the
//   caller's buffer. size_hint() is unknown.
#include "cdi/source.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace cdi {

enum class gzip_backend {
    isal,  // ISA-L igzip: about 3x faster than zlib here
    zlib,
};

class gzip_source final : public source {
public:
    // Does not fail: the decoder is set up by the first read(), which returns any set-up error.
    explicit gzip_source(source_ptr upstream, gzip_backend backend = gzip_backend::isal);
    ~gzip_source() override;
    gzip_source(const gzip_source&) = delete;
    gzip_source& operator=(const gzip_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    void interrupt() noexcept override { upstream_->interrupt(); }

    // The deflate body decoder of one backend; defined in gzip_source.cpp.
    class inflater;

private:
    enum class phase { header, body, done };
    // Steps of the member header parser, in stream order.
    enum class hdr_step { id1, id2, method, flags, fixed_rest, xlen, extra, name, comment, hcrc, complete };

    result<void> set_up();
    result<void> refill();
    // Parses header bytes from the input buffer; returns true once the header is complete.
    result<bool> parse_header();

    source_ptr upstream_;
    gzip_backend backend_;
    std::unique_ptr<inflater> inflater_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_pos_ = 0;
    std::size_t in_end_ = 0;
    bool upstream_eof_ = false;
    phase phase_ = phase::header;
    std::uint64_t members_ = 0;  // members fully decoded and verified

    hdr_step step_ = hdr_step::id1;
    std::uint8_t flags_ = 0;
    std::uint32_t left_ = 0;      // bytes left in the current fixed-size header field
    std::uint32_t field_ = 0;     // little-endian field being assembled (xlen, hcrc)
    std::uint32_t hdr_crc_ = 0;   // CRC32 of the header bytes so far (for FHCRC)
};

}  // namespace cdi
