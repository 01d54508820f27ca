// http_source against nginx: plain HTTP, TLS trust, basic auth, redirects and what each origin received.
#include "support/http_source_fixtures.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace cdi {
namespace {

using namespace cdi::test;
using namespace std::chrono_literals;

TEST(http_source, plain_http_is_byte_exact_with_content_length) {
    web_root root;
    auto web = nginx_server::start({.root = root.www()});
    cancel_token cancel;
    auto src = http_source::open(web->url("/disk.img"), fast_options(), cancel);
    ASSERT_TRUE(src) << src.error().message();
    EXPECT_EQ((*src)->size_hint(), root.data.size());
    EXPECT_TRUE((*src)->accepts_ranges());
    EXPECT_EQ((*src)->content_type(), "application/octet-stream");
    auto got = drain(**src, 100000);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    auto log = web->access_log();
    ASSERT_EQ(log.size(), 2u);
    EXPECT_EQ(log[0].method, "HEAD");
    EXPECT_EQ(log[1].method, "GET");
    EXPECT_EQ(log[1].user_agent, "cdi-golang-importer");
}

TEST(http_source, https_with_ca_dir_is_byte_exact) {
    web_root root;
    pki p(root.tmp / "pki");
    auto web = nginx_server::start(tls_site(root, p));
    for (const std::string name : {"ca.crt", "ca.pem", "odd name.bundle"}) {
        auto opts = fast_options();
        opts.ca_dirs = {ca_dir_with(root.tmp, p, name)};
        auto got = download(web->url("/disk.img"), opts);
        ASSERT_TRUE(got) << name << ": " << got.error().message();
        EXPECT_EQ(*got, root.data) << name;
    }
}

TEST(http_source, https_without_the_ca_is_tls_verify_naming_host_and_trust) {
    web_root root;
    pki p(root.tmp / "pki");
    auto web = nginx_server::start(tls_site(root, p));
    auto got = download(web->url("/disk.img"), fast_options());
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::tls_verify)) << got.error().message();
    EXPECT_NE(got.error().context.find("127.0.0.1:" + std::to_string(web->port())), std::string::npos) << got.error().context;
    EXPECT_NE(got.error().context.find("not trusted by the system roots"), std::string::npos) << got.error().context;

    auto opts = fast_options();  // a different CA: still untrusted
    auto dir = root.tmp / "rogue";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(p.crt("rogue-ca"), dir / "rogue.crt");
    opts.ca_dirs = {dir};
    got = download(web->url("/disk.img"), opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::tls_verify)) << got.error().message();
    EXPECT_NE(got.error().context.find("configured CA directories"), std::string::npos) << got.error().context;
}

TEST(http_source, ca_dir_file_without_certificates_warns_but_works) {
    web_root root;
    pki p(root.tmp / "pki");
    auto dir = ca_dir_with(root.tmp, p, "ca.crt");
    write_file(dir / "README", "not a cert\n", 11);
    write_file(dir / ".hidden", "also not\n", 9);
    auto opts = fast_options();
    opts.ca_dirs = {dir};
    auto ctx = tls_client_context::create(opts);
    ASSERT_TRUE(ctx) << ctx.error().message();
    ASSERT_EQ(ctx->warnings().size(), 1u);
    EXPECT_NE(ctx->warnings()[0].find("README"), std::string::npos);
    EXPECT_EQ(ctx->custom_certificates(), 1u);
    auto web = nginx_server::start(tls_site(root, p));
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
}

TEST(http_source, unreadable_ca_dir_is_tls_config) {
    auto opts = fast_options();
    opts.ca_dirs = {"/nonexistent/cdi-ca-dir"};
    cancel_token cancel;
    auto src = http_source::open("https://127.0.0.1:1/x", opts, cancel);
    ASSERT_FALSE(src);
    EXPECT_TRUE(src.error().is(errc::tls_config)) << src.error().message();
    EXPECT_NE(src.error().context.find("/nonexistent/cdi-ca-dir"), std::string::npos);
}

TEST(http_source, insecure_tls_skips_verification) {
    web_root root;
    pki p(root.tmp / "pki");
    auto web = nginx_server::start(tls_site(root, p));
    auto opts = fast_options();
    opts.insecure_tls = true;
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
}

TEST(http_source, wrong_host_name_is_tls_verify) {
    web_root root;
    pki p(root.tmp / "pki");
    // A server certificate from the trusted CA, but for another name only.
    auto d = root.tmp / "pki";
    must_run("cd '" + d.string() + "' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out wrong.key && "
             "openssl req -new -key wrong.key -subj /CN=wrong.example -out wrong.csr && "
             "printf 'subjectAltName=DNS:wrong.example\\nextendedKeyUsage=serverAuth\\n' > wrong.ext && "
             "openssl x509 -req -in wrong.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile wrong.ext -out wrong.crt");
    nginx_options o;
    o.root = root.www();
    o.tls_cert = d / "wrong.crt";
    o.tls_key = d / "wrong.key";
    auto web = nginx_server::start(o);
    auto opts = fast_options();
    opts.ca_dirs = {ca_dir_with(root.tmp, p, "ca.crt")};
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::tls_verify)) << got.error().message();
    EXPECT_NE(got.error().context.find("host name"), std::string::npos) << got.error().context;
}

TEST(http_source, basic_auth_right_and_wrong) {
    web_root root;
    nginx_options o;
    o.root = root.www();
    o.basic_auth = std::make_pair(std::string("alice"), std::string("s3cret"));
    auto web = nginx_server::start(o);
    auto opts = fast_options();
    opts.credentials = basic_credentials{"alice", "s3cret"};
    auto got = download(web->url("/disk.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);

    opts.credentials = basic_credentials{"alice", "wrong"};
    got = download(web->url("/disk.img"), opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::auth));
    EXPECT_EQ(got.error().context, "expected status code 200, got 401. Status: 401 Unauthorized");
    EXPECT_EQ(got.error().message().find("wrong"), std::string::npos);
}

TEST(http_source, not_found_has_cdi_text) {
    web_root root;
    auto web = nginx_server::start({.root = root.www()});
    auto got = download(web->url("/missing.img"), fast_options());
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::source_http));
    EXPECT_EQ(got.error().context, "expected status code 200, got 404. Status: 404 Not Found");
    EXPECT_EQ(web->requests_for("/missing.img").size(), 2u);  // HEAD + one GET: 4xx is not retried
}

TEST(http_source, same_origin_redirect_keeps_credentials_and_extra_headers) {
    web_root root;
    nginx_options o;
    o.root = root.www();
    o.basic_auth = std::make_pair(std::string("alice"), std::string("s3cret"));
    o.redirects = {{"/old.img", "/disk.img", 302}};
    auto web = nginx_server::start(o);
    auto opts = fast_options();
    opts.credentials = basic_credentials{"alice", "s3cret"};
    opts.extra_headers = {"X-Secret: token-1", "no colon here"};
    cancel_token cancel;
    auto src = http_source::open(web->url("/old.img"), opts, cancel);
    ASSERT_TRUE(src) << src.error().message();
    EXPECT_EQ((*src)->final_url(), web->url("/disk.img"));
    auto got = drain(**src);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    auto hits = web->requests_for("/disk.img");
    ASSERT_FALSE(hits.empty());
    for (const auto& h : hits) {
        EXPECT_EQ(h.authorization, "Basic YWxpY2U6czNjcmV0");
        EXPECT_EQ(h.header, "token-1");
    }
}

TEST(http_source, cross_origin_redirect_gets_no_credentials_or_extra_headers) {
    web_root root;
    auto other = nginx_server::start({.root = root.www()});
    nginx_options o;
    o.root = root.www();
    o.redirects = {{"/old.img", other->url("/disk.img"), 302}};
    auto first = nginx_server::start(o);
    auto opts = fast_options();
    opts.credentials = basic_credentials{"alice", "s3cret"};
    opts.extra_headers = {"X-Secret: token-1"};
    auto got = download(first->url("/old.img"), opts);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, root.data);
    for (const auto& h : first->requests_for("/old.img")) {
        EXPECT_EQ(h.authorization, "Basic YWxpY2U6czNjcmV0");
        EXPECT_EQ(h.header, "token-1");
    }
    auto hits = other->requests_for("/disk.img");
    ASSERT_EQ(hits.size(), 2u);
    for (const auto& h : hits) {
        EXPECT_EQ(h.authorization, "");
        EXPECT_EQ(h.header, "");
        EXPECT_EQ(h.user_agent, "cdi-golang-importer");
    }
}

TEST(http_source, redirect_loop_is_an_error) {
    web_root root;
    nginx_options o;
    o.root = root.www();
    o.redirects = {{"/a", "/b", 302}, {"/b", "/a", 301}};
    auto web = nginx_server::start(o);
    auto opts = fast_options();
    opts.max_redirects = 4;
    auto got = download(web->url("/a"), opts);
    ASSERT_FALSE(got);
    EXPECT_TRUE(got.error().is(errc::source_http));
    EXPECT_NE(got.error().context.find("stopped after 4 redirects"), std::string::npos) << got.error().context;
}

}  // namespace
}  // namespace cdi
