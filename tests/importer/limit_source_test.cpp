#include "importer/limit_source.hpp"

#include "importer/memory_source.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using test::bytes;
using test::scripted_source;

TEST(limit_source, exactly_max_bytes_pass) {
    const bytes data = test::random_bytes(4096);
    for (std::size_t chunk : {1u, 100u, 4096u}) {
        limit_source l(std::make_unique<scripted_source>(data, chunk), 4096);
        auto out = test::drain(l, 1000);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data);
        EXPECT_EQ(l.count(), 4096u);
    }
}

TEST(limit_source, one_byte_over_max_fails_before_the_excess_is_returned) {
    const bytes data = test::random_bytes(4097);
    for (std::size_t chunk : {1u, 100u, 8192u}) {
        limit_source l(std::make_unique<scripted_source>(data, chunk), 4096);
        bytes buf(1000);
        std::size_t got = 0;
        result<std::size_t> r = std::size_t{0};
        while ((r = l.read(buf)) && *r > 0) got += *r;
        ASSERT_FALSE(r) << "chunk " << chunk;
        EXPECT_TRUE(r.error().is(errc::too_large));
        EXPECT_EQ(r.error().message(), "E_TOO_LARGE: image is larger than the target capacity of 4096 bytes");
        EXPECT_LE(got, 4096u);
        EXPECT_LE(l.count(), 4096u);
    }
}

TEST(limit_source, zero_max_accepts_only_an_empty_stream) {
    limit_source empty(std::make_unique<memory_source>(std::span<const std::byte>{}), 0);
    EXPECT_EQ(test::drain(empty)->size(), 0u);
    limit_source one(std::make_unique<scripted_source>(bytes(1)), 0);
    auto r = test::drain(one);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::too_large));
}

TEST(limit_source, upstream_error_and_size_hint_pass_through) {
    limit_source l(std::make_unique<scripted_source>(test::random_bytes(100), 10, 3), 1000);
    EXPECT_EQ(l.size_hint(), 100u);
    auto r = test::drain(l);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::io));
}

}  // namespace
}  // namespace cdi
