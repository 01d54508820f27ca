#include "importer/http_url.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(http_url, parses_scheme_host_port_target_and_userinfo) {
    auto u = http_url::parse("HTTPS://User:p%40ss@Example.COM/a/b.img?x=1#frag");
    ASSERT_TRUE(u) << u.error().message();
    EXPECT_TRUE(u->tls());
    EXPECT_EQ(u->host(), "example.com");
    EXPECT_EQ(u->port(), 443);
    EXPECT_EQ(u->target(), "/a/b.img?x=1");
    ASSERT_TRUE(u->userinfo());
    EXPECT_EQ(u->userinfo()->user, "User");
    EXPECT_EQ(u->userinfo()->password, "p@ss");
    EXPECT_EQ(u->to_string(), "https://example.com:443/a/b.img?x=1");  // no userinfo, no fragment
}

TEST(http_url, ipv6_host_keeps_brackets_in_authority) {
    auto u = http_url::parse("http://[::1]:8080");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host(), "::1");
    EXPECT_EQ(u->authority(), "[::1]:8080");
    EXPECT_EQ(u->target(), "/");
}

TEST(http_url, rejects_other_schemes_and_bad_ports_without_leaking_userinfo) {
    for (const char* bad : {"ftp://h/x", "http://", "http://h:0/", "http://h:70000/", "file:///etc/passwd", "h/x"}) {
        auto u = http_url::parse(bad);
        EXPECT_FALSE(u) << bad;
        if (!u) {
            EXPECT_TRUE(u.error().is(errc::bad_request));
        }
    }
    auto u = http_url::parse("gopher://user:hunter2@h/x");
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error().context.find("hunter2"), std::string::npos) << u.error().context;
}

// A password holding '/', '?' or '#' ends the authority early, so no redaction can find it: a URL
// that does not parse is never echoed at all (issue 12.5).
TEST(http_url, a_url_that_does_not_parse_is_never_echoed_whatever_its_password_holds) {
    for (const char* bad : {"http://user:S3CR3T-MARK/x@h.example/disk.img", "http://user:S3CR3T-MARK?x@h.example/",
                            "https://user:S3CR3T-MARK#x@h.example/", "http://user:S3CR3T-MARK@h.example:99999/",
                            "ftp://user:S3CR3T-MARK@h.example/", "http://user:S3CR3T-MARK@/"}) {
        auto u = http_url::parse(bad);
        ASSERT_FALSE(u) << bad;
        EXPECT_TRUE(u.error().is(errc::bad_request));
        EXPECT_EQ(u.error().message().find("S3CR3T"), std::string::npos) << u.error().message();
        EXPECT_EQ(u.error().message().find("h.example"), std::string::npos) << u.error().message();
    }
}

TEST(http_url, resolves_relative_and_absolute_locations) {
    auto base = http_url::parse("http://a.example:8080/dir/file.img?q");
    ASSERT_TRUE(base);
    EXPECT_EQ(base->resolve("other.img")->to_string(), "http://a.example:8080/dir/other.img");
    EXPECT_EQ(base->resolve("../up.img")->to_string(), "http://a.example:8080/up.img");
    EXPECT_EQ(base->resolve("/root.img?x=2")->to_string(), "http://a.example:8080/root.img?x=2");
    EXPECT_EQ(base->resolve("//b.example/p")->to_string(), "http://b.example:80/p");
    EXPECT_EQ(base->resolve("https://c.example/z")->to_string(), "https://c.example:443/z");
    EXPECT_FALSE(base->resolve("ftp://c.example/z"));
}

TEST(http_url, origin_is_scheme_host_and_port) {
    auto a = http_url::parse("http://h.example/x");
    auto b = http_url::parse("http://H.example:80/y");
    auto c = http_url::parse("https://h.example/x");
    auto d = http_url::parse("http://h.example:8080/x");
    EXPECT_TRUE(a->same_origin(*b));
    EXPECT_FALSE(a->same_origin(*c));
    EXPECT_FALSE(a->same_origin(*d));
}

}  // namespace
}  // namespace cdi
