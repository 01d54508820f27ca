#pragma once
// Shared by the inspector tests: run inspect_image with a capacity, and assert a refusal's class,
// its one-line message and what it names.
#include "convert/image_inspector.hpp"

#include "support/hostile_images.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi::test {

inline constexpr std::uint64_t big_capacity = 1ull << 40;

inline result<image_info> inspect(const fs::path& p, image_format f, std::uint64_t capacity = big_capacity) {
    return inspect_image(p, f, inspect_limits{capacity});
}

// Asserts the error class and that the context contains `needle`; prints the message on failure.
inline void expect_refused(const result<image_info>& r, errc e, const std::string& needle) {
    ASSERT_FALSE(r.has_value()) << "accepted, virtual size " << r->virtual_size;
    EXPECT_TRUE(r.error().is(e)) << r.error().message();
    EXPECT_NE(r.error().context.find(needle), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().context.find('\n'), std::string::npos) << "one line: " << r.error().message();
}

// A fresh directory per test; skips without qemu-img.
class inspector_fixture : public ::testing::Test {
protected:
    void SetUp() override { CDI_REQUIRE_TOOL("qemu-img"); }
    const fs::path& d() const { return dir_.path(); }

private:
    temp_dir dir_;
};

}  // namespace cdi::test
