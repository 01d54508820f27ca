#include "server/clone/snappy_frame_source.hpp"

#include "cdi/byte_order.hpp"

#include <snappy.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>

namespace cdi {

namespace {

using namespace snappy_framing;

std::string hex32(std::uint32_t v) {
    std::array<char, 11> s{};
    std::snprintf(s.data(), s.size(), "0x%08x", v);
    return s.data();
}

std::string hex8(std::uint8_t v) {
    std::array<char, 5> s{};
    std::snprintf(s.data(), s.size(), "0x%02x", v);
    return s.data();
}

error corrupt(std::uint64_t at, const std::string& what) {
    return make_error(errc::decompress, "snappy framed stream: " + what + " (chunk at offset " + std::to_string(at) + ")");
}

}  // namespace

snappy_frame_source::snappy_frame_source(source_ptr upstream)
    : upstream_(std::move(upstream)),
      // The largest chunk that must be held whole: header, checksum and snappy's bound for a full block.
      in_cap_(header_size + checksum_size + snappy::MaxCompressedLength(max_block_size)),
      out_(std::make_unique_for_overwrite<std::byte[]>(max_block_size)) {
    in_ = std::make_unique_for_overwrite<std::byte[]>(in_cap_);
}

result<bool> snappy_frame_source::fill(std::size_t n, bool boundary) {
    if (in_len_ - in_pos_ >= n) return true;
    if (in_pos_ > 0) {
        std::memmove(in_.get(), in_.get() + in_pos_, in_len_ - in_pos_);
        in_len_ -= in_pos_;
        in_pos_ = 0;
    }
    while (in_len_ < n) {
        if (!upstream_done_) {
            auto got = upstream_->read(std::span<std::byte>(in_.get() + in_len_, in_cap_ - in_len_));
            if (!got) return got.error();
            if (*got > 0) {
                in_len_ += *got;
                continue;
            }
            upstream_done_ = true;
        }
        if (boundary && in_len_ == 0) return false;
        return make_error(errc::truncated, "snappy framed stream ends inside the chunk at offset " +
                                               std::to_string(consumed_) + " after " + std::to_string(in_len_) +
                                               " of its bytes");
    }
    return true;
}

result<void> snappy_frame_source::skip(std::size_t len) {
    while (len > 0) {
        if (in_pos_ == in_len_) {
            if (auto r = fill(1, false); !r) return r.error();
        }
        const std::size_t n = std::min(len, in_len_ - in_pos_);
        in_pos_ += n;
        consumed_ += n;
        len -= n;
    }
    return {};
}

result<std::size_t> snappy_frame_source::data_chunk(std::uint8_t type, std::size_t len, std::span<std::byte> buf) {
    const std::uint64_t at = consumed_ - header_size;
    if (len < checksum_size) return corrupt(at, "data chunk of " + std::to_string(len) + " bytes has no room for its checksum");
    const std::size_t body_len = len - checksum_size;
    const std::size_t max_body = type == chunk_compressed ? snappy::MaxCompressedLength(max_block_size) : max_block_size;
    if (body_len > max_body) {
        return corrupt(at, "data chunk of " + std::to_string(body_len) + " bytes is larger than the format allows (" +
                               std::to_string(max_body) + ")");
    }
    if (auto r = fill(len, false); !r) return r.error();
    const std::byte* chunk = in_.get() + in_pos_;
    const std::uint32_t stored = load_le32(std::span(chunk, checksum_size), 0);
    const char* body = reinterpret_cast<const char*>(chunk + checksum_size);

    std::byte* dest = out_.get();
    std::size_t n = body_len;
    if (type == chunk_compressed) {
        std::size_t ulen = 0;
        if (!snappy::GetUncompressedLength(body, body_len, &ulen)) return corrupt(at, "corrupt compressed chunk header");
        if (ulen > max_block_size) {
            return corrupt(at, "compressed chunk expands to " + std::to_string(ulen) + " bytes, more than " +
                                   std::to_string(max_block_size));
        }
        if (buf.size() >= ulen) dest = buf.data();
        if (!snappy::RawUncompress(body, body_len, reinterpret_cast<char*>(dest))) {
            return corrupt(at, "corrupt compressed chunk data");
        }
        n = ulen;
    } else {
        if (buf.size() >= n) dest = buf.data();
        if (n > 0) std::memcpy(dest, body, n);
    }
    const std::uint32_t computed = snappy_masked_crc(std::span<const std::byte>(dest, n));
    if (computed != stored) {
        return corrupt(at, "checksum mismatch: stored " + hex32(stored) + ", computed " + hex32(computed));
    }
    in_pos_ += len;
    consumed_ += len;
    if (dest == buf.data()) return n;
    out_pos_ = 0;
    out_len_ = n;
    return std::size_t{0};
}

result<std::size_t> snappy_frame_source::next_chunk(std::span<std::byte> buf) {
    for (;;) {
        auto more = fill(header_size, true);
        if (!more) return more.error();
        if (!*more) {
            done_ = true;  // an end at a chunk boundary (or an empty stream) is the clean end
            return std::size_t{0};
        }
        const std::byte* h = in_.get() + in_pos_;
        const auto type = static_cast<std::uint8_t>(h[0]);
        const std::size_t len = static_cast<std::size_t>(h[1]) | static_cast<std::size_t>(h[2]) << 8 |
                                static_cast<std::size_t>(h[3]) << 16;
        const std::uint64_t at = consumed_;
        in_pos_ += header_size;
        consumed_ += header_size;

        if (type == chunk_identifier) {
            if (len != identifier_body.size()) return corrupt(at, "stream identifier of " + std::to_string(len) + " bytes");
            if (auto r = fill(len, false); !r) return r.error();
            if (std::memcmp(in_.get() + in_pos_, identifier_body.data(), len) != 0) {
                return corrupt(at, "stream identifier is not \"sNaPpY\"");
            }
            in_pos_ += len;
            consumed_ += len;
            identified_ = true;
            continue;
        }
        if (!identified_) return corrupt(at, "chunk type " + hex8(type) + " before the stream identifier");
        if (type == chunk_compressed || type == chunk_uncompressed) {
            auto n = data_chunk(type, len, buf);
            if (!n) return n.error();
            if (*n > 0 || out_len_ > 0) return *n;
            continue;  // an empty data chunk
        }
        if (type >= first_skippable) {
            if (auto r = skip(len); !r) return r.error();
            continue;
        }
        return corrupt(at, "reserved unskippable chunk type " + hex8(type));
    }
}

result<std::size_t> snappy_frame_source::read(std::span<std::byte> buf) {
    if (buf.empty()) return std::size_t{0};
    for (;;) {
        if (out_pos_ < out_len_) {
            const std::size_t n = std::min(buf.size(), out_len_ - out_pos_);
            std::memcpy(buf.data(), out_.get() + out_pos_, n);
            out_pos_ += n;
            return n;
        }
        if (done_) return std::size_t{0};
        out_pos_ = out_len_ = 0;
        auto n = next_chunk(buf);
        if (!n) return n.error();
        if (*n > 0) return *n;
    }
}

}  // namespace cdi
