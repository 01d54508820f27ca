#pragma once
// A source decoding the Snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt),
// the wire format of CDI's host-assisted clone (contract 6.8: github.com/golang/snappy's buffered writer).
//
// Contract:
// - The stream identifier chunk (ff 06 00 00 "sNaPpY") must come first; it may repeat later. Any other
//   chunk before it is errc::decompress. A completely empty upstream is a clean end (0), as is an end at
//   any chunk boundary after the identifier.
// - 0x00 compressed and 0x01 uncompressed chunks: a 4-byte little-endian masked CRC-32C of the
//   UNCOMPRESSED data, then the data (≤ 65536 bytes uncompressed; a compressed body is limited to
//   snappy's bound for 65536 bytes, as Go's reader). The checksum is always verified.
// - 0xfe padding and 0x80..0xfd skippable chunks are skipped (read in pieces: bounded memory);
//   0x02..0x7f reserved unskippable chunks are errc::decompress.
// - Errors: corrupt data, checksum mismatch, oversize or undersized chunk → errc::decompress naming the
//   chunk's offset in the framed stream; an upstream that ends inside a chunk → errc::truncated;
//   upstream errors unchanged.
// - Memory: two buffers allocated once per object (input ~128 KiB, output 64 KiB); a compressed chunk
//   is decompressed straight into the caller's buffer when it is large enough.
// Ownership: owns its upstream. size_hint() is unknown (nullopt). Thread-safety: none.
#include "cdi/source.hpp"
#include "snappy/snappy_framing.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace cdi {

class snappy_frame_source final : public source {
public:
    static constexpr std::size_t max_block_size = snappy_framing::max_block_size;

    explicit snappy_frame_source(source_ptr upstream);

    result<std::size_t> read(std::span<std::byte> buf) override;

    // Framed bytes consumed from the upstream so far (the offset of the next chunk header).
    std::uint64_t consumed() const noexcept { return consumed_; }

private:
    // Decodes chunks until one carries data (placed in out_ or straight into buf) or the stream ends.
    // Returns the bytes written to buf directly (0 when the data went to out_ or at the end).
    result<std::size_t> next_chunk(std::span<std::byte> buf);
    // Makes n bytes available at in_[in_pos_]; false when the upstream ended before any of them
    // arrived (only meaningful at a chunk boundary), truncation otherwise.
    result<bool> fill(std::size_t n, bool boundary);
    result<void> skip(std::size_t len);
    result<std::size_t> data_chunk(std::uint8_t type, std::size_t len, std::span<std::byte> buf);

    source_ptr upstream_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_cap_;
    std::size_t in_pos_ = 0;  // first unconsumed byte in in_
    std::size_t in_len_ = 0;  // bytes valid in in_
    std::unique_ptr<std::byte[]> out_;
    std::size_t out_pos_ = 0;
    std::size_t out_len_ = 0;
    std::uint64_t consumed_ = 0;  // framed-stream offset of in_[in_pos_]
    bool identified_ = false;
    bool upstream_done_ = false;
    bool done_ = false;
};

}  // namespace cdi
