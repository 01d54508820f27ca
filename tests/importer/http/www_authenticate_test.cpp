#include "importer/http/www_authenticate.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using params = std::map<std::string, std::string>;

// distribution 2.8 registry/auth/htpasswd: fmt.Sprintf("Basic realm=%q", realm).
TEST(www_authenticate, parses_distribution_htpasswd_challenge) {
    auto c = parse_www_authenticate(R"(Basic realm="Registry Realm")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[0].params, (params{{"realm", "Registry Realm"}}));
}

// distribution 2.8 registry/auth/token: Bearer realm=%q,service=%q[,scope=%q][,error=%q]; the scope
// joins actions with ',' inside the quotes and several scopes with ' '.
TEST(www_authenticate, parses_distribution_token_challenge_with_quoted_commas) {
    auto c = parse_www_authenticate(
        R"(Bearer realm="https://127.0.0.1:5001/auth",service="Docker registry",scope="repository:kubevirt/cirros:pull,push repository:other/x:pull",error="insufficient_scope")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params, (params{{"realm", "https://127.0.0.1:5001/auth"},
                                   {"service", "Docker registry"},
                                   {"scope", "repository:kubevirt/cirros:pull,push repository:other/x:pull"},
                                   {"error", "insufficient_scope"}}));
}

TEST(www_authenticate, parses_docker_hub_challenge) {
    auto c = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].params.at("realm"), "https://auth.docker.io/token");
    EXPECT_EQ(c[0].params.at("service"), "registry.docker.io");
    EXPECT_EQ(c[0].params.at("scope"), "repository:library/busybox:pull");
}

TEST(www_authenticate, splits_several_challenges_in_one_value) {
    auto c = parse_www_authenticate(R"(Basic realm="x", Bearer realm="y",service="z")");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].scheme, "basic");
    EXPECT_EQ(c[0].params, (params{{"realm", "x"}}));
    EXPECT_EQ(c[1].scheme, "bearer");
    EXPECT_EQ(c[1].params, (params{{"realm", "y"}, {"service", "z"}}));
}

// RFC 7235 section 4.1's example: tokens and quoted-strings, escapes, BWS.
TEST(www_authenticate, parses_rfc7235_example_with_escapes) {
    auto c = parse_www_authenticate(R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple")");
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].scheme, "newauth");
    EXPECT_EQ(c[0].params, (params{{"realm", "apps"}, {"type", "1"}, {"title", R"(Login to "apps")"}}));
    EXPECT_EQ(c[1].scheme, "basic");
    EXPECT_EQ(c[1].params, (params{{"realm", "simple"}}));

    auto b = parse_www_authenticate("Basic realm=\"a\\\\b\\\"c\"");
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].params.at("realm"), "a\\b\"c");
}

TEST(www_authenticate, lower_cases_scheme_and_keys_but_not_values) {
    auto c = parse_www_authenticate(R"(BEARER Realm = "https://Auth.Example/Token" ,  SERVICE=Reg.Example)");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].scheme, "bearer");
    EXPECT_EQ(c[0].params, (params{{"realm", "https://Auth.Example/Token"}, {"service", "Reg.Example"}}));
}

TEST(www_authenticate, keeps_token68_under_the_empty_key) {
    auto c = parse_www_authenticate("Negotiate YIIB+w/x==, Basic dXNlcjpwYXNz, NTLM");
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[0].scheme, "negotiate");
    EXPECT_EQ(c[0].params, (params{{"", "YIIB+w/x=="}}));
    EXPECT_EQ(c[1].scheme, "basic");
    EXPECT_EQ(c[1].params, (params{{"", "dXNlcjpwYXNz"}}));
    EXPECT_EQ(c[2].scheme, "ntlm");
    EXPECT_TRUE(c[2].params.empty());

    auto padded = parse_www_authenticate("Negotiate abc=");  // a token68, not "abc" with no value
    ASSERT_EQ(padded.size(), 1u);
    EXPECT_EQ(padded[0].params, (params{{"", "abc="}}));
}

TEST(www_authenticate, empty_quoted_value_is_kept_and_missing_value_is_skipped) {
    auto c = parse_www_authenticate(R"(Bearer realm="",service=,scope="repository:a:pull")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].params, (params{{"realm", ""}, {"scope", "repository:a:pull"}}));
}

TEST(www_authenticate, skips_malformed_parts_and_keeps_the_rest) {
    // A parameter with trailing junk is dropped; the next one survives.
    auto junk = parse_www_authenticate(R"(Bearer realm="x" junk, service="y")");
    ASSERT_EQ(junk.size(), 1u);
    EXPECT_EQ(junk[0].params, (params{{"service", "y"}}));

    // A parameter before any scheme belongs to nothing.
    auto orphan = parse_www_authenticate(R"(realm="x", Basic realm="y")");
    ASSERT_EQ(orphan.size(), 1u);
    EXPECT_EQ(orphan[0].scheme, "basic");
    EXPECT_EQ(orphan[0].params, (params{{"realm", "y"}}));

    // A malformed scheme drops its element, and its parameters with it.
    auto bad_scheme = parse_www_authenticate(R"(Bea/rer realm="x", service="z", Basic realm="y")");
    ASSERT_EQ(bad_scheme.size(), 1u);
    EXPECT_EQ(bad_scheme[0].scheme, "basic");
    EXPECT_EQ(bad_scheme[0].params, (params{{"realm", "y"}}));

    // Empty list elements are allowed.
    auto commas = parse_www_authenticate(R"(, Basic realm="x",, ,Bearer realm="y",)");
    ASSERT_EQ(commas.size(), 2u);
    EXPECT_EQ(commas[1].params, (params{{"realm", "y"}}));

    // An unterminated quoted-string swallows the rest of the value.
    auto open = parse_www_authenticate(R"(Bearer service="a", realm="unterminated, Basic realm="b)");
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].params, (params{{"service", "a"}}));

    // Control characters inside a quoted-string make the parameter malformed.
    auto ctl = parse_www_authenticate(std::string("Basic realm=\"a\nb\", charset=\"UTF-8\""));
    ASSERT_EQ(ctl.size(), 1u);
    EXPECT_EQ(ctl[0].params, (params{{"charset", "UTF-8"}}));
}

TEST(www_authenticate, repeated_parameter_keeps_the_first_value) {
    auto c = parse_www_authenticate(R"(Bearer realm="https://good/token", realm="https://evil/token")");
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].params.at("realm"), "https://good/token");
}

TEST(www_authenticate, garbage_yields_no_challenges) {
    for (const char* v : {"", " ", ",,,", "=", "==", "\"", "\"Basic\" realm=\"x\"", "realm=\"x\"", "\x01\x02", "é",
                          "Negotiate =="}) {  // a name, BWS and '=': a parameter with no challenge to belong to
        EXPECT_TRUE(parse_www_authenticate(v).empty()) << v;
    }
    auto padding_only = parse_www_authenticate("Negotiate x ==");  // "x ==" is neither token68 nor auth-param
    ASSERT_EQ(padding_only.size(), 1u);
    EXPECT_EQ(padding_only[0].scheme, "negotiate");
    EXPECT_TRUE(padding_only[0].params.empty());
}

}  // namespace
}  // namespace cdi
