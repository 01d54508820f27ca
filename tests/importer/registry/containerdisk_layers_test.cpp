// layers_to_read (issue 19.2): a manifest repeating layers costs one fetch per digest, the final
// view is unchanged, and a hostile layer count or a digest with two sizes is refused before any
// blob is fetched. Pure cases on descriptors, then whole images (oci_image.py "repeat") through
// resolve_containerdisk + containerdisk_source with every blob fetch counted.
#include "importer/registry/containerdisk_layers.hpp"

#include "support/containerdisk_fixtures.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cdi {
namespace {

using namespace cdi::test;

descriptor layer(char id, std::uint64_t size = 100) {
    descriptor d;
    d.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    d.digest = "sha256:" + std::string(64, id);
    d.size = size;
    return d;
}

std::string ids(const std::vector<descriptor>& layers) {
    std::string out;
    for (const auto& d : layers) out += d.digest[7];
    return out;
}

std::vector<descriptor> layers_of(const std::string& ids) {
    std::vector<descriptor> out;
    for (char c : ids) out.push_back(layer(c));
    return out;
}

TEST(layers_to_read, distinct_layers_are_kept_in_order) {
    auto r = layers_to_read(layers_of("abc"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(ids(*r), "abc");
}

TEST(layers_to_read, each_digest_is_kept_once_at_its_uppermost_position) {
    // base first: a b a c b -> a (index 2), c (3), b (4)
    auto r = layers_to_read(layers_of("abacb"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(ids(*r), "acb");
}

TEST(layers_to_read, a_thousand_copies_of_one_layer_are_read_once) {
    auto r = layers_to_read(std::vector<descriptor>(1000, layer('a')));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(ids(*r), "a");
}

TEST(layers_to_read, no_layers_stay_none) {
    auto r = layers_to_read({});
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->empty());
}

TEST(layers_to_read, one_digest_with_two_sizes_is_refused) {
    auto r = layers_to_read({layer('a', 100), layer('b'), layer('a', 101)});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::bad_image)) << r.error().message();
    EXPECT_NE(r.error().context.find("two sizes, 100 and 101"), std::string::npos) << r.error().message();
}

// 127 distinct digests (with repeats on top) pass; the 128th distinct one is refused.
TEST(layers_to_read, more_than_127_distinct_layers_are_refused) {
    std::vector<descriptor> layers;
    for (std::size_t i = 0; i < max_distinct_layers; ++i) {
        descriptor d = layer('a');
        const auto hex = std::to_string(100 + i);  // 3 digits
        d.digest.replace(d.digest.size() - hex.size(), hex.size(), hex);
        layers.push_back(d);
        layers.push_back(d);
    }
    auto ok = layers_to_read(layers);
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->size(), max_distinct_layers);
    layers.push_back(layer('f'));
    auto refused = layers_to_read(layers);
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().is(errc::bad_image)) << refused.error().message();
    EXPECT_NE(refused.error().context.find("128 distinct layers, more than 127"), std::string::npos) << refused.error().message();
}

// An archive whose blob fetches are counted by digest.
class counting_images final : public image_source {
public:
    explicit counting_images(std::unique_ptr<image_source> inner) : inner_(std::move(inner)) {}
    result<manifest_bytes> top_manifest() override { return inner_->top_manifest(); }
    result<manifest_bytes> manifest(const descriptor& d) override { return inner_->manifest(d); }
    result<source_ptr> open_blob(const descriptor& d) override {
        ++opened[d.digest];
        return inner_->open_blob(d);
    }
    std::string name() const override { return inner_->name(); }

    std::map<std::string, int> opened;

private:
    std::unique_ptr<image_source> inner_;
};

struct counted_run {
    drained result;
    std::map<std::string, int> opened;
};

// resolve_containerdisk + containerdisk_source over the archive, draining the disk.
counted_run run_counted(const fs::path& tar) {
    counted_run out;
    auto a = oci_archive::open(tar, "");
    if (!a) return out.result.failure = a.error(), out;
    counting_images images(std::move(*a));
    auto finish = [&](error e) {
        out.result.failure = std::move(e);
        out.opened = images.opened;
        return out;
    };
    auto img = resolve_containerdisk(images, "");
    if (!img) return finish(img.error());
    auto s = containerdisk_source::open(images, img->layers);
    if (!s) return finish(s.error());
    out.result.opened = true;
    bytes buf(64 * 1024);
    for (;;) {
        auto n = (*s)->read(buf);
        if (!n) return finish(n.error());
        if (*n == 0) break;
        out.result.data.insert(out.result.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    out.opened = images.opened;
    return out;
}

const char* const disk_layer = R"({"compression": "gzip", "entries": [{"path": "disk/", "type": "dir"},
    {"path": "disk/disk.img", "type": "file", "content": "the disk"}]})";

TEST(containerdisk_layers, a_layer_repeated_a_thousand_times_is_fetched_once) {
    test::temp_dir tmp;
    auto sum = build(tmp, R"({"images": [{"layers": [)" + std::string(disk_layer).insert(1, R"("repeat": 1000, )") + "]}]}");
    const auto digest = layer_digest(sum, 0, 0);
    ASSERT_EQ(sum.at("images").at(0).at("layers").as_array().size(), 1000u);
    auto r = run_counted(tmp / "img.tar");
    ASSERT_FALSE(r.result.failure) << r.result.failure->message();
    EXPECT_EQ(r.result.data, test::to_bytes("the disk"));
    EXPECT_EQ(r.opened[digest], 1);
}

// Layers X (the disk), W (whites it out), X again: the view shows the disk of the top X. Reading
// the lower copy instead of the upper one would find no disk.
TEST(containerdisk_layers, the_uppermost_copy_decides_the_view) {
    test::temp_dir tmp;
    const std::string whiteout = R"({"compression": "gzip", "entries": [{"path": "disk/.wh.disk.img", "type": "file", "content": ""}]})";
    auto sum = build(tmp, R"({"images": [{"layers": [)" + std::string(disk_layer) + "," + whiteout + "," + disk_layer + "]}]}");
    ASSERT_EQ(layer_digest(sum, 0, 0), layer_digest(sum, 0, 2));
    auto r = run_counted(tmp / "img.tar");
    ASSERT_FALSE(r.result.failure) << r.result.failure->message();
    EXPECT_EQ(r.result.data, test::to_bytes("the disk"));
    EXPECT_EQ(r.opened[layer_digest(sum, 0, 0)], 1);
    EXPECT_EQ(r.opened[layer_digest(sum, 0, 1)], 1);
}

TEST(containerdisk_layers, more_than_127_distinct_layers_fail_before_any_blob_is_fetched) {
    test::temp_dir tmp;
    std::string layers = disk_layer;
    for (int i = 0; i < 127; ++i)
        layers += R"(, {"compression": "none", "entries": [{"path": "etc/f)" + std::to_string(i) + R"(", "type": "file", "content": "x"}]})";
    build(tmp, R"({"images": [{"layers": [)" + layers + "]}]}");
    auto r = run_counted(tmp / "img.tar");
    EXPECT_FALSE(r.result.opened);
    ASSERT_TRUE(r.result.failure);
    EXPECT_TRUE(r.result.failure->is(errc::bad_image)) << r.result.failure->message();
    EXPECT_NE(r.result.failure->context.find("128 distinct layers"), std::string::npos) << r.result.failure->message();
    EXPECT_TRUE(r.opened.empty()) << r.opened.size() << " blobs fetched, the config among them";
}

}  // namespace
}  // namespace cdi
