#include "importer/http/proxy_selector.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

std::optional<std::string> proxy_of(const proxy_settings& s, const std::string& url) {
    auto sel = proxy_selector::create(s);
    EXPECT_TRUE(sel) << sel.error().message();
    auto p = sel->proxy_for(*http_url::parse(url));
    if (!p) return std::nullopt;
    return p->authority();
}

TEST(proxy_selector, picks_by_origin_scheme) {
    proxy_settings s{"http://hp:3128", "https-proxy:3129", ""};
    EXPECT_EQ(proxy_of(s, "http://h.example/x"), "hp:3128");
    EXPECT_EQ(proxy_of(s, "https://h.example/x"), "https-proxy:3129");
    s.https_proxy.clear();
    EXPECT_EQ(proxy_of(s, "https://h.example/x"), std::nullopt);
}

TEST(proxy_selector, no_proxy_follows_go_rules) {
    proxy_settings s{"http://p:1", "http://p:1", ""};
    auto bypassed = [&](const std::string& no_proxy, const std::string& url) {
        s.no_proxy = no_proxy;
        return !proxy_of(s, url).has_value();
    };
    EXPECT_TRUE(bypassed("*", "http://any.example/"));
    EXPECT_TRUE(bypassed("example.com", "http://example.com/"));
    EXPECT_TRUE(bypassed("example.com", "http://a.b.example.com/"));
    EXPECT_FALSE(bypassed("example.com", "http://notexample.com/"));
    EXPECT_TRUE(bypassed(".example.com", "http://a.example.com/"));
    EXPECT_FALSE(bypassed(".example.com", "http://example.com/"));
    EXPECT_TRUE(bypassed("*.example.com", "http://a.example.com/"));
    EXPECT_TRUE(bypassed(" Other.org , EXAMPLE.com ", "http://example.com/"));
    EXPECT_TRUE(bypassed("example.com:8080", "http://example.com:8080/"));
    EXPECT_FALSE(bypassed("example.com:8080", "http://example.com/"));
    EXPECT_TRUE(bypassed("10.1.2.3", "http://10.1.2.3:9/"));
    EXPECT_FALSE(bypassed("10.1.2.3", "http://10.1.2.4/"));
    EXPECT_TRUE(bypassed("10.0.0.0/8", "https://10.200.0.1/"));
    EXPECT_FALSE(bypassed("10.0.0.0/8", "https://11.0.0.1/"));
    EXPECT_TRUE(bypassed("[::1]:443", "https://[::1]/"));
    EXPECT_TRUE(bypassed("fd00::/8", "http://[fd12::1]/"));
    EXPECT_FALSE(bypassed("", "http://example.com/"));
}

TEST(proxy_selector, rejects_unusable_proxy_urls) {
    EXPECT_FALSE(proxy_selector::create({"socks5://p:1", "", ""}));
    EXPECT_FALSE(proxy_selector::create({"", "https://p:1", ""}));
    EXPECT_FALSE(proxy_selector::create({"http://", "", ""}));
}

}  // namespace
}  // namespace cdi

namespace cdi {
namespace {

// issue 12.5: the error names the variable, never the value (which may hold a password).
TEST(proxy_selector, an_unparsable_proxy_is_named_by_its_variable_never_echoed) {
    for (const char* bad : {"http://u:S3CR3T-MARK/x@proxy:3128", "u:S3CR3T-MARK?x@proxy:3128", "http://u:S3CR3T-MARK#x@proxy:3128"}) {
        auto http = proxy_selector::create(proxy_settings{bad, "", ""});
        ASSERT_FALSE(http) << bad;
        EXPECT_EQ(http.error().context.rfind("http_proxy: ", 0), 0u) << http.error().context;
        EXPECT_EQ(http.error().message().find("S3CR3T"), std::string::npos) << http.error().message();
        auto https = proxy_selector::create(proxy_settings{"", bad, ""});
        ASSERT_FALSE(https) << bad;
        EXPECT_EQ(https.error().context.rfind("https_proxy: ", 0), 0u) << https.error().context;
        EXPECT_EQ(https.error().message().find("S3CR3T"), std::string::npos) << https.error().message();
    }
}

}  // namespace
}  // namespace cdi
