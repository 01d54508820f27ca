#pragma once
// Byte-order reads from a buffer, for every parser of on-disk or on-wire structures (image headers,
// the format sniffer, framing). The caller guarantees off + width <= b.size(); nothing is checked.
#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi {

namespace detail {
template <std::size_t W>
constexpr std::uint64_t load_be(std::span<const std::byte> b, std::size_t off) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < W; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(b[off + i]);
    return v;
}
template <std::size_t W>
constexpr std::uint64_t load_le(std::span<const std::byte> b, std::size_t off) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = W; i-- > 0;) v = (v << 8) | std::to_integer<std::uint64_t>(b[off + i]);
    return v;
}
}  // namespace detail

constexpr std::uint16_t load_be16(std::span<const std::byte> b, std::size_t off) noexcept {
    return static_cast<std::uint16_t>(detail::load_be<2>(b, off));
}
constexpr std::uint32_t load_be32(std::span<const std::byte> b, std::size_t off) noexcept {
    return static_cast<std::uint32_t>(detail::load_be<4>(b, off));
}
constexpr std::uint64_t load_be64(std::span<const std::byte> b, std::size_t off) noexcept { return detail::load_be<8>(b, off); }
constexpr std::uint16_t load_le16(std::span<const std::byte> b, std::size_t off) noexcept {
    return static_cast<std::uint16_t>(detail::load_le<2>(b, off));
}
constexpr std::uint32_t load_le32(std::span<const std::byte> b, std::size_t off) noexcept {
    return static_cast<std::uint32_t>(detail::load_le<4>(b, off));
}
constexpr std::uint64_t load_le64(std::span<const std::byte> b, std::size_t off) noexcept { return detail::load_le<8>(b, off); }

}  // namespace cdi
