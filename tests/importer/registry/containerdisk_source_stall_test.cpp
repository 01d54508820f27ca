// containerdisk_source with an origin that stalls mid-blob: a layer found bad in the bytes already
// read fails at once, though the read-ahead's thread is then waiting in the stalled blob (the
// source is interrupted, not waited for until the HTTP idle timeout).
#include "importer/registry/containerdisk_source.hpp"

#include "support/compression_fixtures.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace cdi {
namespace {

using namespace std::chrono_literals;

class stalling_images final : public image_source {
public:
    explicit stalling_images(test::bytes prefix) : prefix_(std::move(prefix)) {}
    result<manifest_bytes> top_manifest() override { return make_error(errc::bad_image, "unused"); }
    result<manifest_bytes> manifest(const descriptor&) override { return make_error(errc::bad_image, "unused"); }
    result<source_ptr> open_blob(const descriptor&) override { return source_ptr(std::make_unique<test::stalling_source>(prefix_)); }
    std::string name() const override { return "stalling test origin"; }

private:
    test::bytes prefix_;
};

TEST(containerdisk_source, a_layer_found_bad_before_its_blob_stalls_fails_at_once) {
    // 2.5 MiB of hex text, not a tar: gzip makes it about half that, more than the sniffing reads
    // (64 KiB), all served; the origin then stalls before the blob's end. The job thread finds the
    // first 1 MiB slot is no tar while the read-ahead's thread waits in the stalled blob.
    const test::bytes noise = test::random_bytes(1280 * 1024, 31);
    std::string text;
    static constexpr char hex[] = "0123456789abcdef";
    for (const std::byte b : noise) {
        text += hex[std::to_integer<unsigned>(b) >> 4];
        text += hex[std::to_integer<unsigned>(b) & 15];
    }
    const test::bytes blob = test::compress_with("gzip -c -6", test::to_bytes(text));
    stalling_images images(blob);
    descriptor layer;
    layer.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    layer.digest = "sha256:" + std::string(64, '0');
    layer.size = blob.size() + 1000;  // more than served: the blob never ends
    const auto start = std::chrono::steady_clock::now();
    auto opened = containerdisk_source::open(images, {layer});
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(opened);
    EXPECT_TRUE(opened.error().is(errc::bad_image)) << opened.error().message();
    EXPECT_LT(took, 5s);
}

}  // namespace
}  // namespace cdi
