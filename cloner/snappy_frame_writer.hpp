#pragma once
// The encoder of the Snappy framing format (https://github.com/google/snappy/blob/main/framing_format.txt),
// the pair of server/clone/snappy_frame_source: what CDI's clone source sends (contract 6.8,
// github.com/golang/snappy's buffered writer).
//
// Contract:
// - stream_identifier() is the chunk that starts every stream (ff 06 00 00 "sNaPpY").
// - frame_block(data, out) frames data (1..64 KiB) as ONE chunk at the start of out, which must hold
//   max_framed_chunk() bytes, and returns the chunk's size. The chunk is compressed (0x00) when snappy
//   saves at least an eighth of the block (Go's rule), else stored uncompressed (0x01); either way it
//   carries the masked CRC-32C of the uncompressed data.
// - An all-zero full block (a block device's unwritten space) is the same chunk every time: it is
//   encoded once and copied afterwards, so zero runs cost a compare and ~3 KiB on the wire each 64 KiB.
// Memory: the cached zero chunk (~3 KiB). Thread-safety: none (one per producing thread).
#include <cstddef>
#include <span>
#include <vector>

namespace cdi {

class snappy_frame_writer {
public:
    static std::span<const std::byte> stream_identifier() noexcept;
    // The most bytes one framed chunk of a full block takes (header, checksum, snappy's bound).
    static std::size_t max_framed_chunk() noexcept;

    std::size_t frame_block(std::span<const std::byte> data, std::span<std::byte> out);

private:
    std::size_t encode(std::span<const std::byte> data, std::span<std::byte> out) const;

    std::vector<std::byte> zero_chunk_;  // the framed all-zero full block, made at its first use
};

// Whether every byte of data is zero (fast: word compares).
bool all_zero(std::span<const std::byte> data) noexcept;

}  // namespace cdi
