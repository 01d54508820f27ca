#pragma once
// The Snappy framing format's shared facts (https://github.com/google/snappy/blob/main/framing_format.txt),
// written once for its encoder (cloner/snappy_frame_writer) and its decoder (server/clone/snappy_frame_source):
// the chunk types, the stream identifier, the bound on a chunk's uncompressed data and the masked CRC-32C.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi::snappy_framing {

inline constexpr std::size_t max_block_size = 65536;  // the format's bound on uncompressed chunk data
inline constexpr std::size_t header_size = 4;          // type byte + 24-bit little-endian length
inline constexpr std::size_t checksum_size = 4;        // masked CRC-32C, little-endian
inline constexpr std::array<std::byte, 6> identifier_body{std::byte{'s'}, std::byte{'N'}, std::byte{'a'},
                                                           std::byte{'P'}, std::byte{'p'}, std::byte{'Y'}};
inline constexpr std::uint8_t chunk_compressed = 0x00;
inline constexpr std::uint8_t chunk_uncompressed = 0x01;
inline constexpr std::uint8_t chunk_identifier = 0xff;
inline constexpr std::uint8_t first_skippable = 0x80;  // 0x80..0xfd skippable, 0xfe padding

}  // namespace cdi::snappy_framing

namespace cdi {

// The framing format's masked CRC-32C (Castagnoli) of data (at most one chunk: ≤ 64 KiB).
std::uint32_t snappy_masked_crc(std::span<const std::byte> data) noexcept;

}  // namespace cdi
