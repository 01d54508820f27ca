#include "convert/vhd_header.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace cdi {
namespace {

using test::bytes;
using test::temp_dir;

std::span<const std::byte> last512(const bytes& b) { return std::span(b).subspan(b.size() - 512); }

// Recomputes the checksum at 64 after a field was poked.
void fix_checksum(std::span<std::byte> f) {
    std::memset(f.data() + 64, 0, 4);
    std::uint32_t sum = 0;
    for (auto x : f) sum += static_cast<std::uint32_t>(x);
    sum = ~sum;
    for (int i = 0; i < 4; ++i) f[64 + static_cast<std::size_t>(i)] = static_cast<std::byte>(sum >> (24 - 8 * i));
}

TEST(vhd_footer, fixed_vhd_from_qemu_img) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    auto img = d / "f.vhd";
    test::must_run("qemu-img create -q -f vpc -o subformat=fixed '" + img.string() + "' 4M");
    const bytes b = test::read_file_bytes(img);
    auto f = parse_vhd_footer(last512(b));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->disk_type, 2u);
    EXPECT_EQ(f->current_size, b.size() - 512);  // a fixed VHD is its data followed by the footer
    EXPECT_EQ(f->data_offset, 0xFFFFFFFFFFFFFFFFull);
}

TEST(vhd_footer, dynamic_vhd_has_the_footer_at_both_ends) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    auto img = d / "d.vhd";
    test::must_run("qemu-img create -q -f vpc '" + img.string() + "' 4M");
    const bytes b = test::read_file_bytes(img);
    auto head = parse_vhd_footer(std::span(b).first(512));
    auto tail = parse_vhd_footer(last512(b));
    ASSERT_TRUE(head);
    ASSERT_TRUE(tail);
    EXPECT_EQ(head->disk_type, 3u);
    EXPECT_EQ(head->data_offset, 512u);
    EXPECT_EQ(head->current_size, tail->current_size);
    EXPECT_GE(head->current_size, 4u << 20);
}

TEST(vhd_footer, any_flipped_byte_fails_the_checksum) {
    CDI_REQUIRE_TOOL("qemu-img");
    temp_dir d;
    auto img = d / "f.vhd";
    test::must_run("qemu-img create -q -f vpc -o subformat=fixed '" + img.string() + "' 1M");
    const bytes b = test::read_file_bytes(img);
    bytes footer(last512(b).begin(), last512(b).end());
    ASSERT_TRUE(parse_vhd_footer(footer));
    for (std::size_t i : {8u, 48u, 55u, 60u, 64u, 67u, 511u}) {
        bytes bad = footer;
        bad[i] ^= std::byte{0x01};
        EXPECT_FALSE(parse_vhd_footer(bad)) << "byte " << i;
    }
}

TEST(vhd_footer, poked_size_with_a_fixed_checksum_parses) {
    bytes f(512);
    std::memcpy(f.data(), "conectix", 8);
    f[63] = std::byte{2};                                                // disk type 2
    f[16 + 7] = std::byte{0x40};                                         // data offset 0x40
    f[48 + 3] = std::byte{0x01};                                         // current size 1 << 32
    fix_checksum(f);
    auto v = parse_vhd_footer(f);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->disk_type, 2u);
    EXPECT_EQ(v->current_size, 1ull << 32);
    EXPECT_EQ(v->data_offset, 0x40u);
}

TEST(vhd_footer, wrong_cookie_or_length_is_refused) {
    bytes f(512);
    std::memcpy(f.data(), "conectiX", 8);
    fix_checksum(f);
    EXPECT_FALSE(parse_vhd_footer(f));
    std::memcpy(f.data(), "conectix", 8);
    fix_checksum(f);
    EXPECT_TRUE(parse_vhd_footer(f));
    EXPECT_FALSE(parse_vhd_footer(std::span(f).first(511)));
    bytes longer = f;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(parse_vhd_footer(longer));
    EXPECT_FALSE(parse_vhd_footer(bytes(512)));  // all zero: no cookie (and checksum 0 != ~0)
}

}  // namespace
}  // namespace cdi
