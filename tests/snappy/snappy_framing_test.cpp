// The framing format's shared masked CRC-32C (snappy/snappy_framing), used by both the encoder and the decoder.
#include "snappy/snappy_framing.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(snappy_framing, masked_crc_is_the_castagnoli_crc_masked_as_the_format_says) {
    const test::bytes check = test::to_bytes("123456789");
    const std::uint32_t crc = 0xe3069283u;  // CRC-32C check value of "123456789"
    EXPECT_EQ(snappy_masked_crc(check), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(snappy_framing, the_masked_crc_of_nothing_is_the_mask_of_zero) {
    EXPECT_EQ(snappy_masked_crc({}), 0xa282ead8u);
}

}  // namespace
}  // namespace cdi
