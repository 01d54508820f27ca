#include "cloner/snappy_frame_writer.hpp"

#include "snappy/snappy_framing.hpp"

#include <snappy.h>

#include <cassert>
#include <cstdint>
#include <cstring>

namespace cdi {

namespace {

using namespace snappy_framing;

constexpr std::array<std::byte, header_size + identifier_body.size()> identifier = [] {
    std::array<std::byte, header_size + identifier_body.size()> a{};
    a[0] = std::byte{chunk_identifier};
    a[1] = std::byte{static_cast<unsigned char>(identifier_body.size())};
    for (std::size_t i = 0; i < identifier_body.size(); ++i) a[header_size + i] = identifier_body[i];
    return a;
}();

void put_le32(std::byte* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

bool all_zero(std::span<const std::byte> data) noexcept {
    const std::byte* p = data.data();
    std::size_t n = data.size();
    // Compare the first 16 bytes with zero, then the buffer with itself shifted by 16: all zero
    // exactly when both hold (memcmp is vectorised; no zero buffer to keep).
    if (n <= 16) {
        for (std::size_t i = 0; i < n; ++i)
            if (p[i] != std::byte{0}) return false;
        return true;
    }
    static constexpr std::byte zeros[16]{};
    return std::memcmp(p, zeros, 16) == 0 && std::memcmp(p, p + 16, n - 16) == 0;
}

std::span<const std::byte> snappy_frame_writer::stream_identifier() noexcept { return identifier; }

std::size_t snappy_frame_writer::max_framed_chunk() noexcept {
    return header_size + checksum_size + snappy::MaxCompressedLength(max_block_size);
}

std::size_t snappy_frame_writer::encode(std::span<const std::byte> data, std::span<std::byte> out) const {
    assert(!data.empty() && data.size() <= max_block_size && out.size() >= max_framed_chunk());
    std::byte* body = out.data() + header_size + checksum_size;
    std::size_t compressed = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(data.data()), data.size(), reinterpret_cast<char*>(body),
                        &compressed);
    std::uint8_t type = chunk_compressed;
    std::size_t body_len = compressed;
    if (compressed >= data.size() - data.size() / 8) {  // too little saved: store the bytes as they are
        type = chunk_uncompressed;
        body_len = data.size();
        std::memcpy(body, data.data(), data.size());
    }
    const std::size_t len = checksum_size + body_len;
    out[0] = std::byte{type};
    out[1] = static_cast<std::byte>(len);
    out[2] = static_cast<std::byte>(len >> 8);
    out[3] = static_cast<std::byte>(len >> 16);
    put_le32(out.data() + header_size, snappy_masked_crc(data));
    return header_size + len;
}

std::size_t snappy_frame_writer::frame_block(std::span<const std::byte> data, std::span<std::byte> out) {
    if (data.size() == max_block_size && all_zero(data)) {
        if (zero_chunk_.empty()) {
            zero_chunk_.resize(max_framed_chunk());
            zero_chunk_.resize(encode(data, zero_chunk_));
        }
        std::memcpy(out.data(), zero_chunk_.data(), zero_chunk_.size());
        return zero_chunk_.size();
    }
    return encode(data, out);
}

}  // namespace cdi
