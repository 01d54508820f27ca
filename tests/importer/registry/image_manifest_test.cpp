#include "importer/registry/image_manifest.hpp"

#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <string>

namespace cdi {
namespace {

// As `skopeo inspect --raw` shows them from distribution 2.8 (containerdisk pushed by docker).
constexpr std::string_view docker_v2 = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1153,
      "digest": "sha256:7cbd223853bf55abf9a158d3de3dda7502d7baf7c6d62f9db0afcebdc803bada"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 24936734,
         "digest": "sha256:cbad4fd2fff830fec1b515b33e2d7fea64aae658c18242aa57cfeddc386e3d39"
      }
   ]
})";

// As buildah/podman push a containerdisk: OCI manifest, manifest and layer annotations.
constexpr std::string_view oci_v1 = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:8c9d4a572438970813604867f8dffce0b71418b1d0d6985e66e7ee96e66808f3",
    "size": 583
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
      "digest": "sha256:6b8c7b89edb2e8b934a270ad54504dc72b40a75ce015d72d5271b4775475de5f",
      "size": 21823510,
      "annotations": {"org.opencontainers.image.title": "disk.img"}
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar",
      "digest": "sha256:378ae97fda628575cb33aa9132400c2014c396a86906a57178669d6d3336ce84",
      "size": 10240
    }
  ],
  "annotations": {
    "org.opencontainers.image.base.digest": "",
    "org.opencontainers.image.base.name": ""
  }
})";

constexpr std::string_view docker_list = R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:54ca119d4750b5c1c68461f76fde31798f72fc5a66e981e1cb15337cc159aedc",
         "platform": {"architecture": "amd64", "os": "linux"}
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:17999187e58f07d81729488e8e59ded1b46ab0490c5ff333f8264e628ee94f47",
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:399b825a27654dc5fc82f3df7b8640fa9e397d38d820ccbb06c9ac7f570feb6b",
         "platform": {"architecture": "ppc64le", "os": "linux"}
      }
   ]
})";

// As docker buildx pushes it: per-platform manifests plus a provenance attestation entry.
constexpr std::string_view oci_index_with_attestation = R"({
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:63a2587b7da06a82f140013bce824fc29af222a5a4969322d5e8ea2d2820ae23",
      "size": 673,
      "platform": {"architecture": "amd64", "os": "linux"}
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:7cbd223853bf55abf9a158d3de3dda7502d7baf7c6d62f9db0afcebdc803bada",
      "size": 566,
      "annotations": {
        "vnd.docker.reference.digest": "sha256:63a2587b7da06a82f140013bce824fc29af222a5a4969322d5e8ea2d2820ae23",
        "vnd.docker.reference.type": "attestation-manifest"
      },
      "platform": {"architecture": "unknown", "os": "unknown"}
    }
  ]
})";

const std::string digest_a = "sha256:cbad4fd2fff830fec1b515b33e2d7fea64aae658c18242aa57cfeddc386e3d39";

std::string layer_json(std::string_view media_type, std::string_view extra = {}) {
    return R"({"mediaType": ")" + std::string(media_type) + R"(", "size": 1, "digest": ")" + digest_a + "\"" +
           std::string(extra) + "}";
}

// A docker v2 manifest with the given layers array content.
std::string manifest_with_layers(const std::string& layers) {
    return R"({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
               "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": ")" +
           digest_a + R"("}, "layers": [)" + layers + "]}";
}

image_manifest must_manifest(std::string_view body, std::string_view content_type) {
    auto r = parse_manifest(body, content_type);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || !std::holds_alternative<image_manifest>(*r)) {
        ADD_FAILURE() << "not a manifest";
        return {};
    }
    return std::get<image_manifest>(*r);
}

image_index must_index(std::string_view body, std::string_view content_type) {
    auto r = parse_manifest(body, content_type);
    EXPECT_TRUE(r) << r.error().message();
    if (!r || !std::holds_alternative<image_index>(*r)) {
        ADD_FAILURE() << "not an index";
        return {};
    }
    return std::get<image_index>(*r);
}

std::string refusal(std::string_view body, std::string_view content_type) {
    auto r = parse_manifest(body, content_type);
    if (r) return "(accepted)";
    EXPECT_TRUE(r.error().is(errc::bad_image)) << r.error().message();
    return r.error().context;
}

TEST(image_manifest, parses_docker_v2_manifest) {
    auto m = must_manifest(docker_v2, "application/vnd.docker.distribution.manifest.v2+json");
    EXPECT_EQ(m.media_type, media_types::docker_manifest);
    EXPECT_EQ(m.config.media_type, "application/vnd.docker.container.image.v1+json");
    EXPECT_EQ(m.config.size, 1153u);
    EXPECT_EQ(m.config.digest, "sha256:7cbd223853bf55abf9a158d3de3dda7502d7baf7c6d62f9db0afcebdc803bada");
    ASSERT_EQ(m.layers.size(), 1u);
    EXPECT_EQ(m.layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
    EXPECT_EQ(m.layers[0].size, 24936734u);
    EXPECT_EQ(m.layers[0].digest, digest_a);
    EXPECT_FALSE(m.layers[0].platform);
}

TEST(image_manifest, parses_oci_manifest_with_annotations) {
    auto m = must_manifest(oci_v1, "application/vnd.oci.image.manifest.v1+json; charset=utf-8");
    EXPECT_EQ(m.media_type, media_types::oci_manifest);
    ASSERT_EQ(m.layers.size(), 2u);
    EXPECT_EQ(m.layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
    EXPECT_EQ(m.layers[0].annotations, (std::map<std::string, std::string>{{"org.opencontainers.image.title", "disk.img"}}));
    EXPECT_EQ(m.layers[1].size, 10240u);
    EXPECT_TRUE(m.layers[1].annotations.empty());
}

TEST(image_manifest, parses_docker_list_and_oci_index) {
    auto list = must_index(docker_list, "application/vnd.docker.distribution.manifest.list.v2+json");
    EXPECT_EQ(list.media_type, media_types::docker_list);
    ASSERT_EQ(list.manifests.size(), 3u);
    ASSERT_TRUE(list.manifests[1].platform);
    EXPECT_EQ(list.manifests[1].platform->architecture, "arm64");
    EXPECT_EQ(list.manifests[1].platform->os, "linux");
    EXPECT_EQ(list.manifests[1].platform->variant, "v8");
    EXPECT_EQ(list.manifests[1].media_type, media_types::docker_manifest);

    auto index = must_index(oci_index_with_attestation, "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(index.media_type, media_types::oci_index);
    ASSERT_EQ(index.manifests.size(), 2u);
    EXPECT_EQ(index.manifests[1].platform->architecture, "unknown");
    EXPECT_EQ(index.manifests[1].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
}

TEST(image_manifest, generic_content_type_lets_body_media_type_or_shape_decide) {
    for (std::string_view ct : {"", "application/json", "application/octet-stream", "text/plain; charset=utf-8", "Application/JSON"}) {
        EXPECT_EQ(must_manifest(docker_v2, ct).media_type, media_types::docker_manifest) << ct;
        EXPECT_EQ(must_index(docker_list, ct).media_type, media_types::docker_list) << ct;
    }
    // No mediaType in the body (allowed by OCI): the shape decides.
    EXPECT_EQ(must_index(R"({"schemaVersion": 2, "manifests": []})", "").media_type, media_types::oci_index);
    EXPECT_EQ(must_manifest(R"({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
        "size": 2, "digest": ")" + digest_a + R"("}, "layers": []})", "application/json").media_type,
              media_types::oci_manifest);
    // A specific Content-Type is enough when the body has no mediaType.
    EXPECT_EQ(must_index(R"({"schemaVersion": 2, "manifests": []})", media_types::docker_list).media_type,
              media_types::docker_list);
    EXPECT_EQ(refusal(R"({"schemaVersion": 2})", ""),
              R"(manifest has no mediaType and neither "manifests" nor "config" and "layers")");
}

TEST(image_manifest, accepts_every_unpackable_layer_media_type) {
    for (std::string_view t : {"application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar",
                               "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd",
                               "application/vnd.oci.image.layer.nondistributable.v1.tar",
                               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                               "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"}) {
        EXPECT_EQ(must_manifest(manifest_with_layers(layer_json(t)), "").layers.size(), 1u) << t;
    }
}

TEST(image_manifest, refuses_what_is_not_a_schema2_manifest) {
    EXPECT_EQ(refusal("{", ""), "manifest is not JSON: incomplete JSON");
    EXPECT_EQ(refusal("{]", ""), "manifest is not JSON: syntax error");
    EXPECT_EQ(refusal("", media_types::docker_manifest).rfind("manifest is not JSON: ", 0), 0u);
    EXPECT_EQ(refusal("<html>503</html>", "text/html"), "manifest media type \"text/html\" is not supported");
    EXPECT_EQ(refusal("[1, 2]", ""), "manifest is not a JSON object");
    EXPECT_EQ(refusal(R"({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []})", ""),
              "manifest has no schemaVersion");
    EXPECT_EQ(refusal(R"({"schemaVersion": "2", "manifests": []})", ""), "manifest schemaVersion \"2\" is not supported");
    EXPECT_EQ(refusal(R"({"schemaVersion": 3, "manifests": []})", ""), "manifest schemaVersion 3 is not supported");
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.artifact.manifest.v1+json"})", ""),
              R"(manifest media type "application/vnd.oci.artifact.manifest.v1+json" is not supported)");
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "mediaType": 7})", ""), R"(manifest "mediaType" is not a string)");
}

TEST(image_manifest, refuses_docker_schema1) {
    constexpr std::string_view schema1 = R"({
   "schemaVersion": 1,
   "name": "kubevirt/cirros",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": "sha256:cbad4fd2fff830fec1b515b33e2d7fea64aae658c18242aa57cfeddc386e3d39"}],
   "history": [{"v1Compatibility": "{}"}]
})";
    const std::string text = "docker schema 1 manifests are not supported";
    EXPECT_EQ(refusal(schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws"), text);
    EXPECT_EQ(refusal(schema1, "application/vnd.docker.distribution.manifest.v1+json"), text);
    EXPECT_EQ(refusal(schema1, "application/json"), text);
    EXPECT_EQ(refusal(schema1, ""), text);
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v1+json"})", ""),
              text);
}

TEST(image_manifest, refuses_body_media_type_contradicting_content_type) {
    EXPECT_EQ(refusal(docker_v2, media_types::oci_manifest),
              R"(manifest mediaType "application/vnd.docker.distribution.manifest.v2+json" contradicts Content-Type "application/vnd.oci.image.manifest.v1+json")");
    EXPECT_EQ(refusal(docker_list, media_types::docker_manifest),
              R"(manifest mediaType "application/vnd.docker.distribution.manifest.list.v2+json" contradicts Content-Type "application/vnd.docker.distribution.manifest.v2+json")");
    // Same kind claimed by the header, index shape in the body.
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "manifests": []})", media_types::oci_manifest), "image manifest has no config");
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "config": {}})", media_types::oci_index),
              R"(image index has no "manifests" array)");
}

TEST(image_manifest, refuses_bad_digests_and_sizes) {
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": "sha256:abc"})"), ""),
              R"(layer 0 digest "sha256:abc" is not a valid digest)");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1})"), ""),
              R"(layer 0 digest "" is not a valid digest)");
    EXPECT_EQ(refusal(manifest_with_layers(layer_json("application/vnd.oci.image.layer.v1.tar") + "," +
                                           R"({"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1, "digest": "SHA256:CBAD4FD2FFF830FEC1B515B33E2D7FEA64AAE658C18242AA57CFEDDC386E3D39"})"),
                      ""),
              R"(layer 1 digest "SHA256:CBAD4FD2FFF830FEC1B515B33E2D7FEA64AAE658C18242AA57CFEDDC386E3D39" is not a valid digest)");
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "size": 5, "digest": "md5:0123456789abcdef0123456789abcdef"}]})", ""),
              R"(image index entry 0 digest "md5:0123456789abcdef0123456789abcdef" is not a valid digest)");
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "config": {"mediaType": "x", "size": 1, "digest": "sha256:../../etc"}, "layers": []})", ""),
              R"(config digest "sha256:../../etc" is not a valid digest)");
    const std::string media = "application/vnd.oci.image.layer.v1.tar";
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "size": -1, "digest": ")" + digest_a + "\"}"), ""),
              "layer 0 size -1 is negative");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "digest": ")" + digest_a + "\"}"), ""),
              "layer 0 has no size");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "size": null, "digest": ")" + digest_a + "\"}"), ""),
              "layer 0 has no size");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "size": 1.5, "digest": ")" + digest_a + "\"}"), ""),
              "layer 0 size is not an integer");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "size": "12", "digest": ")" + digest_a + "\"}"), ""),
              "layer 0 size is not an integer");
    EXPECT_EQ(refusal(manifest_with_layers(R"({"size": 1, "digest": ")" + digest_a + "\"}"), ""), "layer 0 has no mediaType");
    EXPECT_EQ(refusal(manifest_with_layers("42"), ""), "layer 0 is not a JSON object");
    // The largest size JSON can carry is a size, not an error.
    auto big = must_manifest(manifest_with_layers(R"({"mediaType": ")" + media + R"(", "size": 18446744073709551615, "digest": ")" + digest_a + "\"}"), "");
    ASSERT_EQ(big.layers.size(), 1u);
    EXPECT_EQ(big.layers[0].size, UINT64_MAX);
}

TEST(image_manifest, refuses_more_than_1024_layers_or_manifests) {
    const std::string layer = layer_json("application/vnd.oci.image.layer.v1.tar");
    std::string layers = layer;
    for (int i = 1; i < 1024; ++i) layers += "," + layer;
    EXPECT_EQ(must_manifest(manifest_with_layers(layers), "").layers.size(), 1024u);
    EXPECT_EQ(refusal(manifest_with_layers(layers + "," + layer), ""), "image manifest lists 1025 layers, more than 1024");

    const std::string entry = layer_json(media_types::oci_manifest);
    std::string entries = entry;
    for (int i = 1; i < 1025; ++i) entries += "," + entry;
    EXPECT_EQ(refusal(R"({"schemaVersion": 2, "manifests": [)" + entries + "]}", ""),
              "image index lists 1025 manifests, more than 1024");
}

TEST(image_manifest, refuses_foreign_and_unpackable_layers) {
    EXPECT_EQ(refusal(manifest_with_layers(layer_json("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                                                      R"(, "urls": ["https://mcr.microsoft.com/v2/blob"])")), ""),
              "foreign layer " + digest_a + " is not supported");
    EXPECT_EQ(refusal(manifest_with_layers(layer_json("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")), ""),
              R"(layer media type "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" is not supported)");
    for (std::string_view t : {"application/vnd.docker.image.rootfs.diff.tar", "application/vnd.oci.image.layer.v1.tar+bzip2",
                               "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "application/octet-stream"}) {
        EXPECT_EQ(refusal(manifest_with_layers(layer_json(t)), ""), "layer media type \"" + std::string(t) + "\" is not supported");
    }
    EXPECT_EQ(refusal(manifest_with_layers(layer_json("application/vnd.oci.image.layer.v1.tar", R"(, "urls": "x")")), ""),
              R"(layer 0 "urls" is not an array)");
}

TEST(image_manifest, accept_header_names_all_four_types) {
    const std::string accept = manifest_accept_header();
    for (std::string_view t : {media_types::docker_manifest, media_types::docker_list, media_types::oci_manifest, media_types::oci_index}) {
        EXPECT_NE(accept.find(t), std::string::npos) << t;
    }
    EXPECT_EQ(accept.find("distribution.manifest.v1"), std::string::npos);  // no schema 1
}

TEST(choose_platform, picks_the_entry_for_os_architecture_and_variant) {
    auto list = must_index(docker_list, "");
    EXPECT_EQ(choose_platform(list, "amd64")->digest, list.manifests[0].digest);
    EXPECT_EQ(choose_platform(list, "arm64")->digest, list.manifests[1].digest);  // "" matches "v8"
    EXPECT_EQ(choose_platform(list, "arm64", "v8")->digest, list.manifests[1].digest);
    EXPECT_EQ(choose_platform(list, "ppc64le", "", "linux")->digest, list.manifests[2].digest);

    auto index = must_index(oci_index_with_attestation, "");
    EXPECT_EQ(choose_platform(index, "amd64")->digest, index.manifests[0].digest);
    index.manifests[0].platform->architecture = "arm64";  // variant "" in the index, wanted v8
    EXPECT_EQ(choose_platform(index, "arm64", "v8")->digest, index.manifests[0].digest);

    image_index arm{std::string(media_types::oci_index), {list.manifests[0], list.manifests[0]}};
    arm.manifests[0].platform = platform{"linux", "arm", "v6"};
    arm.manifests[1].platform = platform{"linux", "arm", "v7"};
    arm.manifests[1].digest = digest_a;
    EXPECT_EQ(choose_platform(arm, "arm", "v7")->digest, digest_a);
    EXPECT_EQ(choose_platform(arm, "arm")->digest, arm.manifests[0].digest);  // empty wanted: any variant
}

TEST(choose_platform, misses_name_what_was_wanted) {
    auto list = must_index(docker_list, "");
    auto miss = [&](std::string_view arch, std::string_view variant, std::string_view os) {
        auto r = choose_platform(list, arch, variant, os);
        if (r) return std::string("(chosen)");
        EXPECT_TRUE(r.error().is(errc::bad_image));
        return r.error().context;
    };
    EXPECT_EQ(miss("s390x", "", "linux"),
              R"(choosing image instance: no image found in image index for architecture "s390x", variant "", OS "linux")");
    EXPECT_EQ(miss("amd64", "", "windows"),
              R"(choosing image instance: no image found in image index for architecture "amd64", variant "", OS "windows")");
    EXPECT_EQ(miss("arm64", "v9", "linux"),
              R"(choosing image instance: no image found in image index for architecture "arm64", variant "v9", OS "linux")");
    EXPECT_EQ(miss("amd64", "v3", "linux"),
              R"(choosing image instance: no image found in image index for architecture "amd64", variant "v3", OS "linux")");

    // The attestation entry (unknown/unknown) is never a linux image.
    auto index = must_index(oci_index_with_attestation, "");
    index.manifests.erase(index.manifests.begin());
    EXPECT_FALSE(choose_platform(index, "amd64"));
    EXPECT_FALSE(choose_platform(image_index{}, "amd64"));
}

TEST(image_config, parses_env_labels_and_platform) {
    auto c = parse_image_config(R"({"architecture":"arm64","variant":"v8","os":"linux",
        "config":{"Hostname":"","User":"","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small"],"Cmd":null,"Image":"","Volumes":null,
        "WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"containers.bootc":"1"}},
        "created":"2024-03-01T10:00:00Z","history":[{"created_by":"COPY disk.img /disk/"}],
        "rootfs":{"type":"layers","diff_ids":["sha256:cbad4fd2fff830fec1b515b33e2d7fea64aae658c18242aa57cfeddc386e3d39"]}})");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->architecture, "arm64");
    EXPECT_EQ(c->variant, "v8");
    EXPECT_EQ(c->os, "linux");
    ASSERT_EQ(c->env.size(), 2u);
    EXPECT_EQ(c->env[1], "INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small");
    EXPECT_EQ(c->labels, (std::map<std::string, std::string>{{"containers.bootc", "1"}}));
}

TEST(image_config, null_or_missing_env_labels_and_config_are_empty) {
    for (std::string_view body : {R"({"architecture":"amd64","os":"linux","config":{"Env":null,"Labels":null}})",
                                  R"({"architecture":"amd64","os":"linux","config":{}})",
                                  R"({"architecture":"amd64","os":"linux","config":null})",
                                  R"({"architecture":"amd64","os":"linux"})"}) {
        auto c = parse_image_config(body);
        ASSERT_TRUE(c) << body << ": " << c.error().message();
        EXPECT_EQ(c->architecture, "amd64") << body;
        EXPECT_TRUE(c->env.empty()) << body;
        EXPECT_TRUE(c->labels.empty()) << body;
    }
}

TEST(image_config, refuses_malformed_configs) {
    auto context = [](std::string_view body) {
        auto c = parse_image_config(body);
        if (c) return std::string("(accepted)");
        EXPECT_TRUE(c.error().is(errc::bad_image));
        return c.error().context;
    };
    EXPECT_EQ(context("not json"), "image config is not JSON: syntax error");
    EXPECT_EQ(context("[]"), "image config is not a JSON object");
    EXPECT_EQ(context(R"({"architecture": 1})"), R"(image config "architecture" is not a string)");
    EXPECT_EQ(context(R"({"config": []})"), R"(image config "config" is not an object)");
    EXPECT_EQ(context(R"({"config": {"Env": "A=B"}})"), R"(image config "Env" is not an array)");
    EXPECT_EQ(context(R"({"config": {"Env": ["A=B", 3]}})"), R"(image config "Env" holds a non-string)");
    EXPECT_EQ(context(R"({"config": {"Labels": {"a": 1}}})"), R"(image config "Labels" entry "a" is not a string)");
}

TEST(runtime_architecture, matches_uname_in_goarch_spelling) {
    utsname u{};
    ASSERT_EQ(uname(&u), 0);
    const std::string machine = u.machine;
    const std::string expected = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
    EXPECT_EQ(runtime_architecture(), expected);
}

}  // namespace
}  // namespace cdi
