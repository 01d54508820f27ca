#include "importer/http/http_url.hpp"

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

// Found by fuzz/http_url: Boost.URL 1.81 ends the port at its last digit and reads the rest as a path
// that does not begin with '/'; such a URL printed back named another host.
TEST(http_url, a_port_followed_by_anything_but_a_path_is_refused) {
    for (const char* bad : {"https://a.com:8443x", "https://example.com:8443user:pass@=1", "http://h:80x/y"}) {
        auto u = http_url::parse(bad);
        ASSERT_FALSE(u) << bad << " -> " << u->to_string();
        EXPECT_TRUE(u.error().is(errc::bad_request)) << bad;
    }
    auto base = http_url::parse("http://a.example/x");
    ASSERT_TRUE(base);
    auto next = base->resolve("//b.example:8080evil/");
    EXPECT_FALSE(next) << next->to_string();
    EXPECT_TRUE(http_url::parse("http://h:80/y"));
    EXPECT_TRUE(http_url::parse("http://h:80?q=1"));
}

TEST(http_url, a_host_that_decodes_to_anything_but_a_host_name_is_refused) {
    for (const char* bad : {"http://evil%0d%0aX-Injected%3A%201.example/x", "http://a%0a.example/", "http://a%20b.example/",
                            "http://a%00b/", "http://a%2fb/", "http://a%40b/", "https://%5b%3a%3a1%5d/", "http://h%3a1/"}) {
        auto u = http_url::parse(bad);
        ASSERT_FALSE(u) << bad << " -> " << u->host();
        EXPECT_TRUE(u.error().is(errc::bad_request)) << bad;
        EXPECT_EQ(u.error().context.find('\r'), std::string::npos);
        EXPECT_EQ(u.error().context.find('\n'), std::string::npos);
    }
    for (const char* good : {"http://a-b.example_1.com/", "http://%61.example/", "http://10.0.0.1:8080/", "http://[fe80::1]/"}) {
        auto u = http_url::parse(good);
        EXPECT_TRUE(u) << good << ": " << u.error().message();
    }
    EXPECT_EQ(http_url::parse("http://%61.example/")->host(), "a.example");
}

TEST(http_url, a_redirect_to_a_host_with_encoded_crlf_is_a_source_http_error) {
    auto base = http_url::parse("http://a.example/x");
    ASSERT_TRUE(base);
    for (const char* loc : {"http://evil%0D%0AX-Injected%3A%201/y", "//b%0d%0a.example/z", "https://b%09.example/"}) {
        auto next = base->resolve(loc);
        ASSERT_FALSE(next) << loc << " -> " << next->authority();
        EXPECT_TRUE(next.error().is(errc::source_http)) << loc << ": " << next.error().message();
    }
}

TEST(percent_encode, keeps_unreserved_characters_and_the_ones_asked_for_and_encodes_every_other_byte) {
    EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
    EXPECT_EQ(percent_encode("a b?c#d/e%f&g=h"), "a%20b%3Fc%23d%2Fe%25f%26g%3Dh");
    EXPECT_EQ(percent_encode("dir/my disk?.img", "/"), "dir/my%20disk%3F.img");
    EXPECT_EQ(percent_encode(std::string("\x00\xff\r\n", 4)), "%00%FF%0D%0A");
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
