// resolve_containerdisk over oci-archive files built by oci_image.py: platform choice, CDI's
// architecture texts, bootc refusal, labels, and digests of every manifest and the config.
#include "importer/registry/containerdisk_image.hpp"

#include "support/containerdisk_fixtures.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using namespace cdi::test;

// resolve_containerdisk over an archive.

const char* const two_arch_index = R"({"index": true, "images": [
    {"architecture": "amd64", "layers": [{"compression": "gzip", "entries": [{"path": "disk/disk.img", "type": "file", "content": "amd64 disk"}]}]},
    {"architecture": "arm64", "layers": [{"compression": "gzip", "entries": [{"path": "disk/disk.img", "type": "file", "content": "arm64 disk"}]}]}]})";

TEST(resolve_containerdisk, index_selects_the_requested_architecture) {
    test::temp_dir tmp;
    auto sum = build(tmp, two_arch_index);
    for (auto [arch, idx] : {std::pair{"amd64", 0}, std::pair{"arm64", 1}}) {
        auto a = oci_archive::open(tmp / "img.tar", "");
        ASSERT_TRUE(a);
        auto img = resolve_containerdisk(**a, arch);
        ASSERT_TRUE(img) << arch << ": " << img.error().message();
        EXPECT_EQ(img->config.architecture, arch);
        ASSERT_EQ(img->manifest.layers.size(), 1u);
        EXPECT_EQ(img->manifest.layers[0].digest, layer_digest(sum, static_cast<std::size_t>(idx), 0));
        auto r = run(tmp / "img.tar", arch);
        expect_disk(r, test::to_bytes(std::string(arch) + " disk"));
    }
}

TEST(resolve_containerdisk, index_without_an_architecture_uses_this_machines) {
    test::temp_dir tmp;
    build(tmp, two_arch_index);
    const std::string mine = runtime_architecture();
    if (mine != "amd64" && mine != "arm64") GTEST_SKIP() << "the index has no " << mine << " image";
    auto r = run(tmp / "img.tar", "");
    expect_disk(r, test::to_bytes(mine + " disk"));
}

TEST(resolve_containerdisk, index_without_the_architecture_has_cdis_text) {
    test::temp_dir tmp;
    build(tmp, two_arch_index);
    auto r = run(tmp / "img.tar", "absent");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::bad_image,
                   R"(choosing image instance: no image found in image index for architecture "absent", variant "", OS "linux")");
}

TEST(resolve_containerdisk, single_image_of_another_architecture_has_cdis_text) {
    test::temp_dir tmp;
    build(tmp, R"({"images": [{"architecture": "arm64", "layers": [{"compression": "gzip", "entries": [
        {"path": "disk/disk.img", "type": "file", "content": "arm"}]}]}]})");
    auto r = run(tmp / "img.tar", "amd64");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::bad_image,
                   R"(Error validating architecture: manifest image architecture: "arm64" doesn't match requested architecture: "amd64")");
    expect_disk(run(tmp / "img.tar", "arm64"), test::to_bytes("arm"));
    expect_disk(run(tmp / "img.tar", ""), test::to_bytes("arm"));  // no choice: no check
}

TEST(resolve_containerdisk, bootc_images_are_refused) {
    for (const char* label : {R"("containers.bootc": "1")", R"("ostree.bootable": "true")"}) {
        test::temp_dir tmp;
        build(tmp, R"({"images": [{"labels": {)" + std::string(label) + R"(}, "layers": [{"compression": "gzip", "entries": [
            {"path": "disk/disk.img", "type": "file", "content": "x"}]}]}]})");
        auto r = run(tmp / "img.tar");
        EXPECT_FALSE(r.opened);
        expect_failure(r, errc::bad_image, "bootc image detected");
    }
}

TEST(resolve_containerdisk, other_labels_are_not_bootc) {
    test::temp_dir tmp;
    build(tmp, R"({"images": [{"labels": {"containers.bootc": "0", "vendor": "x"}, "layers": [{"compression": "gzip", "entries": [
        {"path": "disk/disk.img", "type": "file", "content": "x"}]}]}]})");
    expect_disk(run(tmp / "img.tar"), test::to_bytes("x"));
}

TEST(resolve_containerdisk, kubevirt_env_entries_become_labels) {
    test::temp_dir tmp;
    build(tmp, R"({"images": [{"env": ["PATH=/usr/bin", "INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small",
                                       "KUBEVIRT_IO_TEST=x"],
                   "layers": [{"compression": "gzip", "entries": [{"path": "disk/disk.img", "type": "file", "content": "x"}]}]}]})");
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a);
    auto img = resolve_containerdisk(**a, "");
    ASSERT_TRUE(img) << img.error().message();
    const std::map<std::string, std::string> want = {{"instancetype.kubevirt.io/default-instancetype", "u1.small"},
                                                     {"kubevirt.io/test", "x"}};
    EXPECT_EQ(img->labels, want);
    EXPECT_EQ(img->config.env.size(), 3u);
}

TEST(resolve_containerdisk, config_not_matching_its_digest_is_digest_mismatch) {
    test::temp_dir tmp;
    auto sum = build(tmp, one_layer("gzip", R"({"path": "disk/disk.img", "type": "file", "content": "x"})"));
    replace_text(tmp / "img.tar", str(sum.at("images").at(0).at("config")), "1970", "1971");  // still valid JSON
    auto r = run(tmp / "img.tar");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::digest_mismatch);
}

TEST(resolve_containerdisk, manifest_not_matching_its_digest_is_digest_mismatch) {
    test::temp_dir tmp;
    auto sum = build(tmp, one_layer("gzip", R"({"path": "disk/disk.img", "type": "file", "content": "x"})"));
    replace_text(tmp / "img.tar", str(sum.at("top")), "schemaVersion\":2", "schemaVersion\":3");
    auto r = run(tmp / "img.tar");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::digest_mismatch);
}

TEST(resolve_containerdisk, index_entry_not_matching_its_digest_is_digest_mismatch) {
    test::temp_dir tmp;
    auto sum = build(tmp, two_arch_index);
    replace_text(tmp / "img.tar", str(sum.at("images").at(1).at("manifest")), "schemaVersion\":2", "schemaVersion\":3");
    expect_disk(run(tmp / "img.tar", "amd64"), test::to_bytes("amd64 disk"));  // the other image is untouched
    auto r = run(tmp / "img.tar", "arm64");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::digest_mismatch);
}

}  // namespace
}  // namespace cdi
