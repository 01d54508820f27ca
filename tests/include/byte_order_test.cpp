#include "cdi/byte_order.hpp"

#include <gtest/gtest.h>

#include <array>

namespace cdi {
namespace {

constexpr std::array<std::byte, 9> bytes{std::byte{0xAA}, std::byte{0x01}, std::byte{0x02}, std::byte{0x03},
                                         std::byte{0x04}, std::byte{0x05}, std::byte{0x06}, std::byte{0x07},
                                         std::byte{0xF8}};

TEST(byte_order, big_endian_loads_read_the_byte_at_the_offset_as_the_most_significant) {
    EXPECT_EQ(load_be16(bytes, 1), 0x0102u);
    EXPECT_EQ(load_be32(bytes, 1), 0x01020304u);
    EXPECT_EQ(load_be64(bytes, 1), 0x01020304050607F8ull);
}

TEST(byte_order, little_endian_loads_read_the_byte_at_the_offset_as_the_least_significant) {
    EXPECT_EQ(load_le16(bytes, 1), 0x0201u);
    EXPECT_EQ(load_le32(bytes, 1), 0x04030201u);
    EXPECT_EQ(load_le64(bytes, 1), 0xF807060504030201ull);
}

TEST(byte_order, loads_are_usable_at_compile_time) {
    static_assert(load_be32(bytes, 0) == 0xAA010203u);
    static_assert(load_le16(bytes, 7) == 0xF807u);
}

}  // namespace
}  // namespace cdi
