#include "importer/stages/counting_source.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using test::bytes;
using test::scripted_source;

TEST(counting_source, counts_every_byte_into_progress) {
    const bytes data = test::random_bytes(10000);
    progress p;
    p.set_wire_total(10000);
    counting_source c(std::make_unique<scripted_source>(data, 333), p);
    EXPECT_EQ(c.size_hint(), 10000u);
    bytes buf(1000);
    auto n = c.read(buf);
    ASSERT_TRUE(n);
    EXPECT_EQ(p.wire_bytes(), *n);
    auto rest = test::drain(c, 777);
    ASSERT_TRUE(rest);
    EXPECT_EQ(*n + rest->size(), data.size());
    EXPECT_EQ(c.count(), 10000u);
    EXPECT_EQ(p.wire_bytes(), 10000u);
    EXPECT_DOUBLE_EQ(p.percent(), 100.0);
}

TEST(counting_source, adds_to_what_progress_already_holds) {
    progress p;
    p.add_wire_bytes(5);
    counting_source c(std::make_unique<scripted_source>(test::random_bytes(20)), p);
    ASSERT_TRUE(test::drain(c));
    EXPECT_EQ(p.wire_bytes(), 25u);
    EXPECT_EQ(c.count(), 20u);
}

TEST(counting_source, errors_pass_through_and_count_nothing) {
    progress p;
    counting_source c(std::make_unique<scripted_source>(test::random_bytes(100), 10, 4), p);
    auto r = test::drain(c);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io));
    EXPECT_EQ(p.wire_bytes(), 30u);
}

}  // namespace
}  // namespace cdi
