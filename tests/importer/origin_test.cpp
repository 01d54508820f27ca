// importer/origin: the pure parts of the origin choice (the HTML refusal's sniff, local paths); the
// sources themselves are exercised end to end by importer_http_test and cdi_importer_test.
#include "importer/origin.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cdi {
namespace {

bool html(const std::string& text) {
    std::vector<std::byte> bytes;
    for (char c : text) bytes.push_back(static_cast<std::byte>(c));
    return looks_like_html(bytes);
}

TEST(looks_like_html, an_html_page_in_any_case_after_blanks_or_a_bom) {
    EXPECT_TRUE(html("<!DOCTYPE html><html>"));
    EXPECT_TRUE(html("<html><body>login</body></html>"));
    EXPECT_TRUE(html("\r\n  \t<HTML>"));
    EXPECT_TRUE(html("\xef\xbb\xbf<!doctype HTML>"));
}

TEST(looks_like_html, disk_images_and_other_text_are_not_html) {
    EXPECT_FALSE(html("QFI\xfb"));
    EXPECT_FALSE(html(""));
    EXPECT_FALSE(html("   "));
    EXPECT_FALSE(html("<?xml version=\"1.0\"?>"));
    EXPECT_FALSE(html(std::string(64, ' ') + "<html>"));  // only the first 64 bytes are looked at
}

TEST(local_path, a_file_url_or_a_plain_path) {
    EXPECT_EQ(local_path("file:///var/images/disk.qcow2"), "/var/images/disk.qcow2");
    EXPECT_EQ(local_path("/var/images/disk.qcow2"), "/var/images/disk.qcow2");
}

TEST(unsupported_source, imageio_and_vddk_are_refused_with_their_class_and_name) {
    for (const std::string source : {"imageio", "vddk"}) {
        auto e = unsupported_source(source);
        ASSERT_TRUE(e.has_value()) << source;
        EXPECT_TRUE(e->is(errc::unsupported_source));
        EXPECT_NE(e->context.find("does not import from " + source), std::string::npos) << e->context;
    }
    for (const std::string source : {"http", "s3", "gcs", "registry", "none", "file", "ftp"}) EXPECT_FALSE(unsupported_source(source)) << source;
}

}  // namespace
}  // namespace cdi
