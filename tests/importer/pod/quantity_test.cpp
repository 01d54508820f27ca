#include "importer/pod/quantity.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(parse_quantity, matches_cdis_conversions_to_qemu_sizes) {
    // contract section 2.6 (convertQuantityToQemuSize)
    EXPECT_EQ(parse_quantity("1Gi").value(), 1073741824u);
    EXPECT_EQ(parse_quantity("1G").value(), 1000000000u);
    EXPECT_EQ(parse_quantity("10Ki").value(), 10240u);
    EXPECT_EQ(parse_quantity("10k").value(), 10000u);
}

TEST(parse_quantity, accepts_plain_numbers_fractions_and_exponents) {
    EXPECT_EQ(parse_quantity("4096").value(), 4096u);
    EXPECT_EQ(parse_quantity("1.5Gi").value(), 1610612736u);
    EXPECT_EQ(parse_quantity("1e9").value(), 1000000000u);
    EXPECT_EQ(parse_quantity("2E3").value(), 2000u);
    EXPECT_EQ(parse_quantity("+5Mi").value(), 5242880u);
    EXPECT_FALSE(parse_quantity("16Ei"));  // 2^64 does not fit: rejected
}

TEST(parse_quantity, rounds_fractional_bytes_up_like_quantity_value) {
    EXPECT_EQ(parse_quantity("1500m").value(), 2u);
    EXPECT_EQ(parse_quantity("0.1").value(), 1u);
}

TEST(parse_quantity, rejects_garbage_with_the_text_named) {
    for (const char* bad : {"", "-1Gi", "Gi", "1Qi", "1.2.3", "1e", "abc"}) {
        auto r = parse_quantity(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_TRUE(r.error().is(errc::bad_request));
        EXPECT_NE(r.error().context.find(std::string("\"") + bad + "\""), std::string::npos) << r.error().context;
    }
}

}  // namespace
}  // namespace cdi
