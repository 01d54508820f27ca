#include "importer/registry/image_reference.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

const std::string hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string sha256 = "sha256:" + hex64;
const std::string sha512 = "sha512:" + hex64 + hex64;

struct good_docker {
    std::string endpoint, registry, repository, tag, digest, api_host;
};

TEST(image_reference, parses_and_normalizes_docker_references) {
    const good_docker cases[] = {
        {"docker://quay.io/kubevirt/fedora-cloud-container-disk-demo:latest", "quay.io",
         "kubevirt/fedora-cloud-container-disk-demo", "latest", "", "quay.io"},
        {"docker://kubevirt/fedora-cloud-container-disk-demo", "docker.io", "kubevirt/fedora-cloud-container-disk-demo",
         "latest", "", "registry-1.docker.io"},
        {"docker://busybox", "docker.io", "library/busybox", "latest", "", "registry-1.docker.io"},
        {"docker://ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", "", "registry-1.docker.io"},
        {"docker://index.docker.io/busybox:1", "docker.io", "library/busybox", "1", "", "registry-1.docker.io"},
        {"docker://docker.io/library/busybox", "docker.io", "library/busybox", "latest", "", "registry-1.docker.io"},
        {"docker://127.0.0.1:5000/disk/cirros:v1", "127.0.0.1:5000", "disk/cirros", "v1", "", "127.0.0.1:5000"},
        {"docker://localhost/cirros", "localhost", "cirros", "latest", "", "localhost"},
        {"docker://localhost:5000/a/b/c", "localhost:5000", "a/b/c", "latest", "", "localhost:5000"},
        {"docker://registry:5000/cirros", "registry:5000", "cirros", "latest", "", "registry:5000"},
        {"docker://[::1]:5000/disk:v2", "[::1]:5000", "disk", "v2", "", "[::1]:5000"},
        {"docker://[fe80::1]/disk", "[fe80::1]", "disk", "latest", "", "[fe80::1]"},
        {"docker://Quay.IO/kubevirt/cirros", "Quay.IO", "kubevirt/cirros", "latest", "", "Quay.IO"},
        {"docker://quay.io/kubevirt/cirros@" + sha256, "quay.io", "kubevirt/cirros", "", sha256, "quay.io"},
        {"docker://busybox@" + sha512, "docker.io", "library/busybox", "", sha512, "registry-1.docker.io"},
        {"docker://reg.example/a__b/c-d/e.f/g---h/i_j:Tag_1.2-x", "reg.example", "a__b/c-d/e.f/g---h/i_j", "Tag_1.2-x",
         "", "reg.example"},
        {"docker://quay.io/a/b:" + std::string(128, 't'), "quay.io", "a/b", std::string(128, 't'), "", "quay.io"},
        // As containers/image: a single component is a repository name on docker.io, even with a dot.
        {"docker://quay.io", "docker.io", "library/quay.io", "latest", "", "registry-1.docker.io"},
    };
    for (const auto& c : cases) {
        auto r = image_reference::parse(c.endpoint);
        ASSERT_TRUE(r) << c.endpoint << ": " << r.error().message();
        EXPECT_EQ(r->kind, image_reference::transport::docker) << c.endpoint;
        EXPECT_EQ(r->registry, c.registry) << c.endpoint;
        EXPECT_EQ(r->repository, c.repository) << c.endpoint;
        EXPECT_EQ(r->tag, c.tag) << c.endpoint;
        EXPECT_EQ(r->digest, c.digest) << c.endpoint;
        EXPECT_EQ(r->api_host(), c.api_host) << c.endpoint;
        EXPECT_EQ(r->manifest_reference(), c.digest.empty() ? c.tag : c.digest) << c.endpoint;
    }
}

TEST(image_reference, to_string_names_registry_repository_and_tag_or_digest) {
    EXPECT_EQ(image_reference::parse("docker://busybox")->to_string(), "docker.io/library/busybox:latest");
    EXPECT_EQ(image_reference::parse("docker://127.0.0.1:5000/disk/cirros:v1")->to_string(),
              "127.0.0.1:5000/disk/cirros:v1");
    EXPECT_EQ(image_reference::parse("docker://quay.io/a/b@" + sha256)->to_string(), "quay.io/a/b@" + sha256);
    EXPECT_EQ(image_reference::parse("oci-archive:/var/tmp/img.tar")->to_string(), "oci-archive:/var/tmp/img.tar");
    EXPECT_EQ(image_reference::parse("oci-archive:/var/tmp/img.tar:disk:v1")->to_string(),
              "oci-archive:/var/tmp/img.tar:disk:v1");
}

TEST(image_reference, oci_archive_splits_path_and_image_at_the_first_colon) {
    auto plain = image_reference::parse("oci-archive:/var/tmp/img.tar");
    ASSERT_TRUE(plain) << plain.error().message();
    EXPECT_EQ(plain->kind, image_reference::transport::oci_archive);
    EXPECT_EQ(plain->archive, "/var/tmp/img.tar");
    EXPECT_EQ(plain->archive_image, "");
    EXPECT_TRUE(plain->registry.empty());

    auto named = image_reference::parse("oci-archive:/var/tmp/img.tar:quay.io/kubevirt/cirros:latest");
    ASSERT_TRUE(named) << named.error().message();
    EXPECT_EQ(named->archive, "/var/tmp/img.tar");
    EXPECT_EQ(named->archive_image, "quay.io/kubevirt/cirros:latest");

    auto empty_image = image_reference::parse("oci-archive:/var/tmp/img.tar:");
    ASSERT_TRUE(empty_image) << empty_image.error().message();
    EXPECT_EQ(empty_image->archive_image, "");
}

struct bad_case {
    std::string endpoint, context;
};

TEST(image_reference, refuses_bad_endpoints_with_one_line_naming_the_input) {
    const std::string long_repo = "r.io/" + std::string(251, 'a');  // 256 characters with the domain
    const std::string not_quoted = "Invalid image name in IMPORTER_ENDPOINT (not quoted: it holds an '@'): invalid "
                                   "reference format; a digest is algorithm:hex, credentials go in the secret";
    const bad_case cases[] = {
        {"", R"(Invalid image name "", expected colon-separated transport:reference)"},
        {"quay.io/kubevirt/cirros", R"(Invalid image name "quay.io/kubevirt/cirros", expected colon-separated transport:reference)"},
        {"http://h/disk.img", R"(Invalid image name "http://h/disk.img", unknown transport "http")"},
        {"Docker://busybox", R"(Invalid image name "Docker://busybox", unknown transport "Docker")"},
        {"docker-archive:/a.tar", R"(Invalid image name "docker-archive:/a.tar", unknown transport "docker-archive")"},
        {"docker:quay.io/a", R"(Invalid image name "docker:quay.io/a": docker reference "quay.io/a" does not start with //)"},
        {"docker:/quay.io/a", R"(Invalid image name "docker:/quay.io/a": docker reference "/quay.io/a" does not start with //)"},
        {"docker://", R"(Invalid image name "docker://": invalid reference format: empty reference)"},
        {"docker://" + hex64,
         "Invalid image name \"docker://" + hex64 + "\": cannot specify 64-byte hexadecimal strings as a repository name"},
        {"docker://Foo/bar", R"(Invalid image name "docker://Foo/bar": repository name "Foo/bar" must be lowercase)"},
        {"docker://quay.io/KubeVirt/cirros:Tag",
         R"(Invalid image name "docker://quay.io/KubeVirt/cirros:Tag": repository name "KubeVirt/cirros" must be lowercase)"},
        // With an '@', nothing of the input is quoted (it may hold a password: issue 12.5).
        {"docker://quay.io/a/b:v1@" + sha256, not_quoted},
        {"docker://quay.io/a/b@sha256:abc", not_quoted},
        {"docker://quay.io/a/b@md5:0123456789abcdef0123456789abcdef", not_quoted},
        {"docker://quay.io/a/b@", not_quoted},
        {"docker://quay.io/a/b:", R"(Invalid image name "docker://quay.io/a/b:": invalid reference format: tag "")"},
        {"docker://quay.io/a/b:-x", R"(Invalid image name "docker://quay.io/a/b:-x": invalid reference format: tag "-x")"},
        {"docker://quay.io/a/b:x/y", R"(Invalid image name "docker://quay.io/a/b:x/y": invalid reference format: tag "x/y")"},
        {"docker://quay.io/a//b", R"(Invalid image name "docker://quay.io/a//b": invalid reference format: repository "a//b")"},
        {"docker://quay.io/", R"(Invalid image name "docker://quay.io/": invalid reference format: repository "")"},
        {"docker://quay.io/a-/b", R"(Invalid image name "docker://quay.io/a-/b": invalid reference format: repository "a-/b")"},
        {"docker://quay.io/a.-b", R"(Invalid image name "docker://quay.io/a.-b": invalid reference format: repository "a.-b")"},
        {"docker://quay.io/a___b", R"(Invalid image name "docker://quay.io/a___b": invalid reference format: repository "a___b")"},
        {"docker://quay.io/a..b", R"(Invalid image name "docker://quay.io/a..b": invalid reference format: repository "a..b")"},
        {"docker://quay.io/a+b", R"(Invalid image name "docker://quay.io/a+b": invalid reference format: repository "a+b")"},
        {"docker://-bad.io/x", R"(Invalid image name "docker://-bad.io/x": invalid reference format: registry "-bad.io")"},
        {"docker://a..b/x", R"(Invalid image name "docker://a..b/x": invalid reference format: registry "a..b")"},
        {"docker://reg.io:http/x", R"(Invalid image name "docker://reg.io:http/x": invalid reference format: registry "reg.io:http")"},
        {"docker://reg.io:/x", R"(Invalid image name "docker://reg.io:/x": invalid reference format: registry "reg.io:")"},
        {"docker://[::1/x", R"(Invalid image name "docker://[::1/x": invalid reference format: registry "[::1")"},
        {"docker://[zz::1]:5000/x", R"(Invalid image name "docker://[zz::1]:5000/x": invalid reference format: registry "[zz::1]:5000")"},
        {"docker://[::1]x/y", R"(Invalid image name "docker://[::1]x/y": invalid reference format: registry "[::1]x")"},
        {"docker://" + long_repo,
         "Invalid image name \"docker://" + long_repo + "\": repository name must not be more than 255 characters"},
        {"docker://quay.io/a/b:" + std::string(129, 't'),
         "Invalid image name \"docker://quay.io/a/b:" + std::string(129, 't') + "\": invalid reference format: tag \"" +
             std::string(129, 't') + "\""},
        {"oci-archive:", R"(Invalid image name "oci-archive:": oci-archive path is empty)"},
        {"oci-archive::img", R"(Invalid image name "oci-archive::img": oci-archive path is empty)"},
        {"oci-archive:img.tar", R"(Invalid image name "oci-archive:img.tar": oci-archive path "img.tar" is not absolute)"},
        {"oci-archive:/a.tar:Bad Name", R"(Invalid image name "oci-archive:/a.tar:Bad Name": invalid oci-archive image name "Bad Name")"},
        {"oci-archive:/a.tar:x//y", R"(Invalid image name "oci-archive:/a.tar:x//y": invalid oci-archive image name "x//y")"},
        {"oci-archive:/a.tar:x-", R"(Invalid image name "oci-archive:/a.tar:x-": invalid oci-archive image name "x-")"},
    };
    for (const auto& c : cases) {
        auto r = image_reference::parse(c.endpoint);
        ASSERT_FALSE(r) << c.endpoint;
        EXPECT_TRUE(r.error().is(errc::bad_request)) << c.endpoint;
        EXPECT_EQ(r.error().context, c.context) << c.endpoint;
    }
}

// issue 12.5: credentials put in the reference are never quoted back, whatever the password holds.
TEST(image_reference, a_reference_with_credentials_is_refused_without_quoting_it) {
    for (const char* bad : {"docker://user:S3CR3T-MARK@quay.io/a/b:v1", "docker://user:S3CR3T-MARK/x@quay.io/a/b",
                            "docker://user:S3CR3T-MARK#x@quay.io/a/b@sha256:",
                            "docker://user:S3CR3T-MARK@reg.io:5000", "docker://user:S3CR3T-MARK@reg.io:5000/a/b"}) {
        auto r = image_reference::parse(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_TRUE(r.error().is(errc::bad_request));
        EXPECT_EQ(r.error().context.find("S3CR3T"), std::string::npos) << r.error().context;
        EXPECT_NE(r.error().context.find("IMPORTER_ENDPOINT"), std::string::npos) << r.error().context;
    }
    EXPECT_TRUE(image_reference::parse("docker://quay.io/a/b@sha256:" + std::string(64, 'a')));
}

TEST(image_reference, error_context_stays_one_line_and_bounded) {
    auto r = image_reference::parse("docker://quay.io/a/b\n\r:evil");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context.find_first_of("\r\n"), std::string::npos) << r.error().context;

    const std::string huge = "docker://quay.io/" + std::string(100000, 'A');
    auto h = image_reference::parse(huge);
    ASSERT_FALSE(h);
    EXPECT_LT(h.error().context.size(), 2000u);
    EXPECT_NE(h.error().context.find("..."), std::string::npos);
}

TEST(image_reference, digest_validation_accepts_lower_hex_sha256_and_sha512_only) {
    EXPECT_TRUE(is_valid_digest(sha256));
    EXPECT_TRUE(is_valid_digest(sha512));
    EXPECT_FALSE(is_valid_digest(""));
    EXPECT_FALSE(is_valid_digest("sha256:"));
    EXPECT_FALSE(is_valid_digest("sha256:" + hex64.substr(1)));
    EXPECT_FALSE(is_valid_digest(sha256 + "0"));
    EXPECT_FALSE(is_valid_digest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(is_valid_digest("sha256:" + std::string(63, 'a') + "g"));
    EXPECT_FALSE(is_valid_digest("sha512:" + hex64));
    EXPECT_FALSE(is_valid_digest("sha384:" + hex64 + hex64.substr(0, 32)));
    EXPECT_FALSE(is_valid_digest("SHA256:" + hex64));
}

}  // namespace
}  // namespace cdi
