#include "cdi/ascii.hpp"

#include <gtest/gtest.h>

namespace cdi::ascii {
namespace {

TEST(ascii_lower, folds_only_ascii_letters_and_passes_other_bytes_through) {
    EXPECT_EQ(lower("Application/JSON; Charset=UTF-8"), "application/json; charset=utf-8");
    EXPECT_EQ(lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");  // "ÉTÉ": UTF-8 bytes untouched
    EXPECT_EQ(lower("@[`{"), "@[`{");                            // the neighbours of A-Z and a-z
}

TEST(ascii_trim, defaults_to_the_blanks_of_go_trim_space) {
    EXPECT_EQ(trim(" \t\n\v\f\rsha256:AB \r\n"), "sha256:AB");
    EXPECT_EQ(trim(" \t "), "");
    EXPECT_EQ(trim(""), "");
}

TEST(ascii_trim, with_ows_keeps_line_breaks_so_header_checks_still_see_them) {
    EXPECT_EQ(trim("\t value\r\n ", ows), "value\r\n");
    EXPECT_EQ(trim_left("  a b  ", ows), "a b  ");
    EXPECT_EQ(trim_right("  a b  ", ows), "  a b");
}

TEST(ascii_trim_lower, trims_then_lowers) { EXPECT_EQ(trim_lower("  NO_Proxy.Example.COM\n"), "no_proxy.example.com"); }

TEST(ascii_iequals, ignores_ascii_case_only) {
    EXPECT_TRUE(iequals("100-Continue", "100-continue"));
    EXPECT_FALSE(iequals("100-continue", "100-continu"));
    EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É and é differ outside ASCII
}

TEST(ascii_icontains, finds_the_needle_in_any_case) {
    EXPECT_TRUE(icontains("none, BYTES", "bytes"));
    EXPECT_FALSE(icontains("none", "bytes"));
    EXPECT_FALSE(icontains("", "bytes"));
}

}  // namespace
}  // namespace cdi::ascii
