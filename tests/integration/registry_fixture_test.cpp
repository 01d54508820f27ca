// The registry test fixtures themselves (docker_registry.hpp, oci_image.py, token_server.py) against a
// real distribution 2.8 registry, checked with curl: images pushed into a plain registry are served
// with correct digests, and the same storage is then served with htpasswd + TLS or token auth.
#include "support/docker_registry.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <regex>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::docker_registry;
using test::must_run;
using test::registry_options;
using test::q;

struct http_reply {
    int code = 0;
    std::string headers;
    std::string body;
};

class registry_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* tool : {"docker-registry", "skopeo", "curl", "openssl", "htpasswd", "zstd"})
            if (!test::have_tool(tool)) GTEST_SKIP() << "needs " << tool << " on PATH";
        if (test::run_command("/usr/bin/python3 -c 'import cryptography'").status != 0)
            GTEST_SKIP() << "needs /usr/bin/python3 with python3-cryptography";
        must_run("head -c 6144 /dev/urandom > " + q(tmp_ / "disk.img"));
        layout_ = build({image_json("amd64", "gzip")}, false, "layout");
    }

    std::string image_json(const std::string& arch, const std::string& compression) {
        return R"({"architecture":")" + arch + R"(","os":"linux","env":["KUBEVIRT_IO_TEST=yes"],"layers":[{"compression":")" +
               compression +
               R"(","entries":[{"path":"disk/","type":"dir"},{"path":"disk/disk.img","type":"file","source":")" +
               (tmp_ / "disk.img").string() + R"("}]}]})";
    }

    fs::path build(const std::vector<std::string>& images, bool index, const std::string& name,
                   const fs::path& archive = {}) {
        std::string spec = R"({"tag":"latest","index":)" + std::string(index ? "true" : "false") + R"(,"images":[)";
        for (std::size_t i = 0; i < images.size(); ++i) spec += (i ? "," : "") + images[i];
        spec += "]}";
        const auto spec_file = tmp_ / (name + ".json");
        test::write_file(spec_file, spec.data(), spec.size());
        test::build_oci_layout(spec_file, tmp_ / name, archive);
        return tmp_ / name;
    }

    // Pushes the default image into a plain registry over store_, which is stopped on return.
    void seed() {
        auto plain = docker_registry::start({.storage = store_.path()});
        plain->push(layout_, "cdi/disk:v1");
    }

    http_reply get(const std::string& url, const std::string& args = {}) {
        const auto hdr = tmp_ / "reply.headers";
        const auto body = tmp_ / "reply.body";
        auto r = test::run_command("curl -s -D " + q(hdr) + " -o " + q(body) + " -w '%{http_code}' " + args + " '" + url + "'");
        auto h = test::read_file(hdr);
        auto b = test::read_file(body);
        return {std::atoi(r.output.c_str()), {h.begin(), h.end()}, {b.begin(), b.end()}};
    }

    std::string sha256_of(const std::string& data) {
        const auto f = tmp_ / "hashed";
        test::write_file(f, data.data(), data.size());
        return "sha256:" + must_run("sha256sum " + q(f) + " | cut -c1-64").substr(0, 64);
    }

    static std::string header(const std::string& headers, const std::string& name) {
        std::smatch m;
        std::regex re("(^|\n)" + name + ": *([^\r\n]*)", std::regex::icase);
        return std::regex_search(headers, m, re) ? m[2].str() : std::string();
    }

    static constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
    static constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
    static std::string accept(const char* media) { return std::string("-H 'Accept: ") + media + "'"; }

    test::temp_dir tmp_;
    test::temp_dir store_;
    fs::path layout_;
};

TEST_F(registry_fixture, plain_registry_serves_the_pushed_layer_under_its_digest) {
    auto reg = docker_registry::start({.storage = store_.path()});
    reg->push(layout_, "cdi/disk:v1");
    EXPECT_EQ(reg->endpoint("cdi/disk:v1"), "docker://127.0.0.1:" + std::to_string(reg->port()) + "/cdi/disk:v1");

    auto m = get(reg->url("/v2/cdi/disk/manifests/v1"), accept(oci_manifest));
    ASSERT_EQ(m.code, 200) << m.body;
    EXPECT_EQ(header(m.headers, "Docker-Content-Digest"), sha256_of(m.body));
    auto manifest = boost::json::parse(m.body).as_object();
    EXPECT_EQ(manifest.at("mediaType").as_string(), oci_manifest);
    const auto& layers = manifest.at("layers").as_array();
    ASSERT_EQ(layers.size(), 1u);
    EXPECT_EQ(layers[0].at("mediaType").as_string(), "application/vnd.oci.image.layer.v1.tar+gzip");
    const std::string layer_digest(layers[0].at("digest").as_string());

    auto blob = get(reg->url("/v2/cdi/disk/blobs/" + layer_digest));
    ASSERT_EQ(blob.code, 200);
    EXPECT_EQ(sha256_of(blob.body), layer_digest);
    EXPECT_EQ(static_cast<std::int64_t>(blob.body.size()), layers[0].at("size").as_int64());
    // The layer holds disk/disk.img byte for byte.
    test::write_file(tmp_ / "layer.tgz", blob.body.data(), blob.body.size());
    must_run("tar -xzOf " + q(tmp_ / "layer.tgz") + " disk/disk.img | cmp - " + q(tmp_ / "disk.img"));

    // The config carries the env and a diff_id that is the uncompressed tar's digest.
    const std::string config_digest(manifest.at("config").at("digest").as_string());
    auto config = get(reg->url("/v2/cdi/disk/blobs/" + config_digest));
    ASSERT_EQ(config.code, 200);
    EXPECT_EQ(sha256_of(config.body), config_digest);
    auto cfg = boost::json::parse(config.body).as_object();
    EXPECT_EQ(cfg.at("architecture").as_string(), "amd64");
    EXPECT_EQ(cfg.at("config").at("Env").as_array()[0].as_string(), "KUBEVIRT_IO_TEST=yes");
    EXPECT_EQ(cfg.at("rootfs").at("diff_ids").as_array()[0].as_string(),
              "sha256:" + must_run("gzip -dc " + q(tmp_ / "layer.tgz") + " | sha256sum | cut -c1-64").substr(0, 64));
}

TEST_F(registry_fixture, htpasswd_over_tls_serves_the_storage_seeded_by_a_plain_registry) {
    seed();
    test::pki p(tmp_ / "pki");
    auto reg = docker_registry::start({.storage = store_.path(), .tls_cert = p.crt("server"), .tls_key = p.key("server"),
                                       .htpasswd = std::pair{std::string("alice"), std::string("s3cret pass")}});
    const auto ca = "--cacert " + q(p.crt("ca")) + " " + accept(oci_manifest);
    const auto url = reg->url("/v2/cdi/disk/manifests/v1");
    ASSERT_EQ(url.substr(0, 8), "https://");

    auto anon = get(url, ca);
    EXPECT_EQ(anon.code, 401);
    EXPECT_EQ(header(anon.headers, "WWW-Authenticate"), "Basic realm=\"cdi-test-registry\"");
    EXPECT_EQ(get(url, ca + " -u 'alice:wrong'").code, 401);
    auto ok = get(url, ca + " -u 'alice:s3cret pass'");
    EXPECT_EQ(ok.code, 200) << ok.body;
    EXPECT_EQ(header(ok.headers, "Docker-Content-Digest"), sha256_of(ok.body));
    // The server certificate is not trusted without the CA.
    EXPECT_NE(test::run_command("curl -sf -o /dev/null -u 'alice:s3cret pass' " + url).status, 0);
    // push() authenticates with the configured user.
    reg->push(layout_, "cdi/disk:v2");
    EXPECT_EQ(get(reg->url("/v2/cdi/disk/manifests/v2"), ca + " -u 'alice:s3cret pass'").code, 200);
}

TEST_F(registry_fixture, token_auth_over_tls_grants_a_bearer_token_for_the_repository) {
    seed();
    test::pki p(tmp_ / "pki");
    auto reg = docker_registry::start({.storage = store_.path(), .tls_cert = p.crt("server"), .tls_key = p.key("server"),
                                       .token_auth = true, .token_user = "bob", .token_password = "t0ken-pass"});
    const auto ca = "--cacert " + q(p.crt("ca"));

    auto ping = get(reg->url("/v2/"), ca);
    EXPECT_EQ(ping.code, 401);
    std::smatch m;
    const auto challenge = header(ping.headers, "WWW-Authenticate");
    ASSERT_TRUE(std::regex_search(challenge, m, std::regex(R"re(^Bearer realm="([^"]+)",service="([^"]+)")re")))
        << challenge;
    EXPECT_EQ(m[1].str(), reg->token_realm());
    EXPECT_EQ(m[1].str().substr(0, 8), "https://");
    const auto token_url = m[1].str() + "?service=" + m[2].str() + "&scope=repository:cdi/disk:pull";

    EXPECT_EQ(get(token_url, ca).code, 401);
    EXPECT_EQ(get(token_url, ca + " -u 'bob:wrong'").code, 401);
    auto tok = get(token_url, ca + " -u 'bob:t0ken-pass'");
    ASSERT_EQ(tok.code, 200) << tok.body;
    auto body = boost::json::parse(tok.body).as_object();
    const std::string token(body.at("token").as_string());
    EXPECT_EQ(body.at("access_token").as_string(), token);
    EXPECT_EQ(body.at("expires_in").as_int64(), 300);

    const auto manifest_url = reg->url("/v2/cdi/disk/manifests/v1");
    EXPECT_EQ(get(manifest_url, ca + " " + accept(oci_manifest)).code, 401);
    auto ok = get(manifest_url, ca + " " + accept(oci_manifest) + " -H 'Authorization: Bearer " + token + "'");
    EXPECT_EQ(ok.code, 200) << ok.body;
    // A pull token does not allow a push.
    EXPECT_EQ(get(reg->url("/v2/cdi/disk/blobs/uploads/"), ca + " -X POST -H 'Authorization: Bearer " + token + "'").code, 401);

    auto log = reg->token_log();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_FALSE(log[0].authorization);
    EXPECT_EQ(log[0].status, 401);
    EXPECT_TRUE(log[1].authorization);
    EXPECT_EQ(log[1].status, 401);
    EXPECT_EQ(log[2].status, 200);
    EXPECT_EQ(log[2].user, "bob");
    EXPECT_EQ(log[2].service, docker_registry::service_name);
    EXPECT_EQ(log[2].scope, std::vector<std::string>{"repository:cdi/disk:pull"});
    for (const auto& e : log) EXPECT_EQ(e.query.find("t0ken-pass"), std::string::npos);

    reg->push(layout_, "cdi/disk:v2");  // skopeo gets a pull,push token with the configured user
    auto pushes = reg->token_log();
    ASSERT_GT(pushes.size(), log.size());
    EXPECT_EQ(pushes.back().status, 200);
    EXPECT_EQ(pushes.back().user, "bob");
}

TEST_F(registry_fixture, token_auth_refuses_an_expired_token_and_accepts_the_next_one) {
    seed();
    auto reg = docker_registry::start({.storage = store_.path(), .token_auth = true, .token_expired_first = 1});
    const auto creds = reg->credentials();
    ASSERT_TRUE(creds);
    const auto token_url = reg->token_realm() + "?service=" + docker_registry::service_name + "&scope=repository:cdi/disk:pull";
    auto token = [&] {
        auto r = get(token_url, "-u '" + creds->first + ":" + creds->second + "'");
        EXPECT_EQ(r.code, 200);
        return std::string(boost::json::parse(r.body).at("token").as_string());
    };
    const auto url = reg->url("/v2/cdi/disk/manifests/v1");
    EXPECT_EQ(get(url, accept(oci_manifest) + " -H 'Authorization: Bearer " + token() + "'").code, 401);
    EXPECT_EQ(get(url, accept(oci_manifest) + " -H 'Authorization: Bearer " + token() + "'").code, 200);
}

TEST_F(registry_fixture, multi_arch_index_is_pushed_with_all_and_served_with_each_platform) {
    auto index = build({image_json("amd64", "gzip"), image_json("arm64", "zstd")}, true, "multi");
    auto reg = docker_registry::start({});
    reg->push(index, "cdi/multi:v1", true);

    auto r = get(reg->url("/v2/cdi/multi/manifests/v1"), accept(oci_index));
    ASSERT_EQ(r.code, 200) << r.body;
    auto idx = boost::json::parse(r.body).as_object();
    EXPECT_EQ(idx.at("mediaType").as_string(), oci_index);
    const auto& manifests = idx.at("manifests").as_array();
    ASSERT_EQ(manifests.size(), 2u);
    EXPECT_EQ(manifests[0].at("platform").at("architecture").as_string(), "amd64");
    EXPECT_EQ(manifests[1].at("platform").at("architecture").as_string(), "arm64");
    for (const auto& d : manifests) {
        const std::string digest(d.at("digest").as_string());
        auto child = get(reg->url("/v2/cdi/multi/manifests/" + digest), accept(oci_manifest));
        ASSERT_EQ(child.code, 200) << digest;
        EXPECT_EQ(sha256_of(child.body), digest);
    }
    auto arm = boost::json::parse(get(reg->url("/v2/cdi/multi/manifests/" + std::string(manifests[1].at("digest").as_string())),
                                      accept(oci_manifest)).body);
    EXPECT_EQ(arm.at("layers").as_array()[0].at("mediaType").as_string(), "application/vnd.oci.image.layer.v1.tar+zstd");
}

TEST_F(registry_fixture, oci_archives_are_pushed_and_v2s2_conversion_gives_docker_manifests) {
    build({image_json("amd64", "gzip")}, false, "archived", tmp_ / "image.tar");
    auto index = build({image_json("amd64", "gzip"), image_json("arm64", "gzip")}, true, "multi");
    auto reg = docker_registry::start({});
    reg->push(tmp_ / "image.tar", "cdi/archived:v1");
    reg->push(layout_, "cdi/docker:v1", test::push_options{.format = "v2s2"});
    reg->push(index, "cdi/list:v1", test::push_options{.all = true, .format = "v2s2"});

    EXPECT_EQ(get(reg->url("/v2/cdi/archived/manifests/v1"), accept(oci_manifest)).code, 200);
    const auto v2s2 = "application/vnd.docker.distribution.manifest.v2+json";
    auto r = get(reg->url("/v2/cdi/docker/manifests/v1"), accept(v2s2));
    ASSERT_EQ(r.code, 200);
    auto m = boost::json::parse(r.body);
    EXPECT_EQ(m.at("mediaType").as_string(), v2s2);
    EXPECT_EQ(m.at("layers").as_array()[0].at("mediaType").as_string(), "application/vnd.docker.image.rootfs.diff.tar.gzip");
    const auto list_type = "application/vnd.docker.distribution.manifest.list.v2+json";
    auto l = get(reg->url("/v2/cdi/list/manifests/v1"), accept(list_type));
    ASSERT_EQ(l.code, 200);
    EXPECT_EQ(boost::json::parse(l.body).at("mediaType").as_string(), list_type);
}

TEST_F(registry_fixture, corrupted_blob_is_served_with_bytes_that_miss_its_digest) {
    auto reg = docker_registry::start({});
    reg->push(layout_, "cdi/disk:v1");
    auto manifest = boost::json::parse(get(reg->url("/v2/cdi/disk/manifests/v1"), accept(oci_manifest)).body);
    const std::string digest(manifest.at("layers").as_array()[0].at("digest").as_string());
    const auto blob = reg->blob_path(digest);
    ASSERT_TRUE(fs::is_regular_file(blob)) << blob;
    ASSERT_EQ(sha256_of(get(reg->url("/v2/cdi/disk/blobs/" + digest)).body), digest);

    must_run("printf 'X' | dd of=" + q(blob) + " bs=1 seek=100 conv=notrunc status=none");
    auto r = get(reg->url("/v2/cdi/disk/blobs/" + digest));
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body.size(), fs::file_size(blob));
    EXPECT_NE(sha256_of(r.body), digest);
}

TEST_F(registry_fixture, start_fails_loudly_with_the_registry_log) {
    test::temp_dir certs;
    test::write_file(certs / "bad.crt", "not a cert", 10);
    try {
        auto reg = docker_registry::start({.tls_cert = certs / "bad.crt", .tls_key = certs / "bad.crt"});
        FAIL() << "a registry with an unreadable certificate started";
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("did not start"), std::string::npos) << what;
        EXPECT_NE(what.find("failed to find any PEM data"), std::string::npos) << what;  // the registry's own log
    }
}

}  // namespace
}  // namespace cdi
