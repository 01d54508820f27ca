// containerdisk_source over oci-archive files built by oci_image.py: the disk's bytes from every
// layer compression and sparse form, the overlay rules across layers, and every damaged blob or
// layer failing (at open, or at the last read once the disk's bytes are out), never a clean end.
#include "importer/registry/containerdisk_source.hpp"

#include "support/containerdisk_fixtures.hpp"
#include "support/hostile_tars.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>

namespace cdi {
namespace {

using namespace cdi::test;

class compressed_layer : public testing::TestWithParam<const char*> {};

TEST_P(compressed_layer, yields_the_disk_bytes) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", (1 << 20) + 123, 11);
    auto sum = build(tmp, one_layer(GetParam(), disk_entries));
    auto r = run(tmp / "img.tar");
    expect_disk(r, disk);
    EXPECT_EQ(r.disk_layer, layer_digest(sum, 0, 0));
}

INSTANTIATE_TEST_SUITE_P(containerdisk_source, compressed_layer, testing::Values("gzip", "zstd", "none"));

TEST(containerdisk_source, empty_disk_file_is_zero_bytes) {
    test::temp_dir tmp;
    build(tmp, one_layer("gzip", R"({"path": "disk/disk.img", "type": "file", "content": ""})"));
    expect_disk(run(tmp / "img.tar"), {});
}

// oci_image.py writes no sparse members: the layer is GNU tar's own (-S), given as a verbatim blob.
class sparse_layer : public testing::TestWithParam<const char*> {};

TEST_P(sparse_layer, yields_holes_as_zeros) {
    test::temp_dir tmp;
    fs::create_directories(tmp / "root" / "disk");
    const fs::path file = tmp / "root" / "disk" / "disk.img";
    test::make_sparse_file(file, 3 << 20, {0, 1 << 20, (3 << 20) - 4096});
    must_run("tar --sparse --format=" + std::string(GetParam()) + " --owner=0 --group=0 -C " + sh_quote(tmp / "root") +
             " -cf " + sh_quote(tmp / "layer.tar") + " disk");
    ASSERT_NE(must_run("tar -tvf " + sh_quote(tmp / "layer.tar")).find("disk/disk.img"), std::string::npos);
    build(tmp, R"({"images": [{"layers": [{"blob": "@/layer.tar", "media_type": "application/vnd.oci.image.layer.v1.tar"}]}]})");
    // The layer must really be sparse, or this test proves nothing: far smaller than the file.
    ASSERT_LT(fs::file_size(tmp / "layer.tar"), 1u << 20);
    auto r = run(tmp / "img.tar");
    expect_disk(r, test::read_file_bytes(file));
}

INSTANTIATE_TEST_SUITE_P(containerdisk_source, sparse_layer, testing::Values("gnu", "pax"));

TEST(containerdisk_source, upper_layer_whites_out_and_replaces_the_disk) {
    test::temp_dir tmp;
    write_random(tmp / "old", 200000, 1);
    auto replacement = write_random(tmp / "new", 300000, 2);
    auto sum = build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [{"path": "disk/", "type": "dir"}, {"path": "disk/old.img", "type": "file", "source": "@/old"}]},
        {"compression": "zstd", "entries": [{"path": "disk/.wh.old.img", "type": "file"},
                                            {"path": "disk/new.img", "type": "file", "source": "@/new"}]}]}]})");
    auto r = run(tmp / "img.tar");
    expect_disk(r, replacement, "disk/new.img");
    EXPECT_EQ(r.disk_layer, layer_digest(sum, 0, 1));
}

TEST(containerdisk_source, upper_layer_replaces_the_disk_by_name) {
    test::temp_dir tmp;
    write_random(tmp / "old", 100000, 1);
    auto replacement = write_random(tmp / "new", 150000, 2);
    build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [{"path": "disk/disk.img", "type": "file", "source": "@/old"}]},
        {"compression": "gzip", "entries": [{"path": "disk/disk.img", "type": "file", "source": "@/new"}]}]}]})");
    expect_disk(run(tmp / "img.tar"), replacement);
}

TEST(containerdisk_source, disk_in_the_lower_layer_under_an_unrelated_upper_layer) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 250000, 3);
    auto sum = build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [)" + std::string(disk_entries) + R"(]},
        {"compression": "gzip", "entries": [{"path": "etc/", "type": "dir"}, {"path": "etc/motd", "type": "file", "content": "hi"},
                                            {"path": "etc/disk/x", "type": "file", "content": "not the disk"}]}]}]})");
    auto r = run(tmp / "img.tar");
    expect_disk(r, disk);
    EXPECT_EQ(r.disk_layer, layer_digest(sum, 0, 0));
}

TEST(containerdisk_source, second_file_in_a_lower_layer_fails_the_last_read) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 200000, 4);
    build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [{"path": "disk/other.img", "type": "file", "content": "second"}]},
        {"compression": "gzip", "entries": [)" + std::string(disk_entries) + R"(]}]}]})");
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();  // not at open: the upper layer alone is fine
    EXPECT_TRUE(r.data == disk) << "all of the disk comes out before the error";
    expect_failure(r, errc::bad_image, "image directory contains more than one file");
}

TEST(containerdisk_source, second_file_later_in_the_disk_layer_fails_the_last_read) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 100000, 5);
    build(tmp, one_layer("none", std::string(disk_entries) + R"(, {"path": "disk/b", "type": "file", "content": "x"})"));
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();
    EXPECT_TRUE(r.data == disk);
    expect_failure(r, errc::bad_image, "image directory contains more than one file");
}

TEST(containerdisk_source, link_in_a_lower_layer_fails_the_last_read) {
    test::temp_dir tmp;
    write_random(tmp / "disk", 50000, 6);
    build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [{"path": "disk/l", "type": "symlink", "target": "/etc/shadow"}]},
        {"compression": "gzip", "entries": [)" + std::string(disk_entries) + R"(]}]}]})");
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();
    expect_failure(r, errc::archive_unsafe_entry);
}

TEST(containerdisk_source, hidden_link_in_a_lower_layer_is_fine) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 50000, 6);
    build(tmp, R"({"images": [{"layers": [
        {"compression": "gzip", "entries": [{"path": "disk/l", "type": "symlink", "target": "/etc/shadow"},
                                            {"path": "disk/h", "type": "hardlink", "target": "disk/l"}]},
        {"compression": "gzip", "entries": [{"path": "disk/.wh.l", "type": "file"}, {"path": "disk/.wh.h", "type": "file"},
                                            )" + std::string(disk_entries) + R"(]}]}]})");
    expect_disk(run(tmp / "img.tar"), disk);
}

TEST(containerdisk_source, hardlink_disk_is_refused_at_open) {
    test::temp_dir tmp;
    build(tmp, one_layer("gzip", R"({"path": "etc/passwd", "type": "file", "content": "root:x:0:0"},
                                    {"path": "disk/disk.img", "type": "hardlink", "target": "etc/passwd"})"));
    auto r = run(tmp / "img.tar");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::archive_unsafe_entry);
}

TEST(containerdisk_source, no_disk_is_cdis_not_found_at_open) {
    test::temp_dir tmp;
    build(tmp, one_layer("gzip", R"({"path": "etc/motd", "type": "file", "content": "hi"})"));
    auto r = run(tmp / "img.tar");
    EXPECT_FALSE(r.opened);
    expect_failure(r, errc::bad_image, "Failed to find VM disk image file in the container image");
}

TEST(containerdisk_source, corrupt_disk_layer_fails_the_last_read_with_digest_mismatch) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 200000, 7);
    auto sum = build(tmp, one_layer("none", disk_entries));
    // Headers: disk/ (512) and disk/disk.img (512), then the file's data.
    flip_byte(tmp / "img.tar", layer_digest(sum, 0, 0), 1024 + 5000);
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();
    expect_failure(r, errc::digest_mismatch);
    EXPECT_EQ(r.data.size(), disk.size()) << "the error comes at the end, after the data";
}

TEST(containerdisk_source, corrupt_lower_layer_fails_the_last_read_with_digest_mismatch) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 100000, 8);
    auto sum = build(tmp, R"({"images": [{"layers": [
        {"compression": "none", "entries": [{"path": "usr/", "type": "dir"}, {"path": "usr/lib", "type": "file", "content": "library bytes"}]},
        {"compression": "gzip", "entries": [)" + std::string(disk_entries) + R"(]}]}]})");
    replace_text(tmp / "img.tar", layer_digest(sum, 0, 0), "library", "LIBRARY");
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();
    EXPECT_TRUE(r.data == disk);
    expect_failure(r, errc::digest_mismatch);
}

TEST(containerdisk_source, corrupt_gzip_layer_never_ends_cleanly) {
    test::temp_dir tmp;
    write_random(tmp / "disk", 100000, 9);
    auto sum = build(tmp, one_layer("gzip", disk_entries));
    flip_byte(tmp / "img.tar", layer_digest(sum, 0, 0), -3);  // inside the gzip trailer's ISIZE
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.failure) << "ended cleanly";
    EXPECT_TRUE(r.failure->is(errc::digest_mismatch) || r.failure->is(errc::decompress)) << r.failure->message();
}

TEST(containerdisk_source, blob_size_other_than_the_descriptor_fails) {
    test::temp_dir tmp;
    write_random(tmp / "disk", 100000, 10);
    build(tmp, one_layer("none", disk_entries));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    auto img = resolve_containerdisk(**a, "");
    ASSERT_TRUE(img) << img.error().message();
    for (auto [delta, code] : {std::pair{+1, errc::truncated}, std::pair{-1, errc::digest_mismatch}}) {
        auto layers = img->manifest.layers;
        layers[0].size = static_cast<std::uint64_t>(static_cast<std::int64_t>(layers[0].size) + delta);
        auto r = run(tmp / "img.tar", "", &layers);
        expect_failure(r, code);
    }
}

// A verbatim layer blob of text: one line (shorter than a tar header), or 8 KiB of lines.
std::string text_layer(bool long_text) {
    std::string text = "this is not a tar archive, only a line of text\\n";
    if (long_text) {
        std::string many;
        while (many.size() < 8192) many += text;
        text = many;
    }
    return R"({"blob_content": ")" + text + R"(", "media_type": "application/vnd.oci.image.layer.v1.tar"})";
}

TEST(containerdisk_source, layer_that_is_not_a_tar_is_bad_image) {
    for (bool long_text : {true, false}) {
        SCOPED_TRACE(long_text ? "8 KiB of text" : "one line of text");
        test::temp_dir tmp;
        build(tmp, R"({"images": [{"layers": [)" + text_layer(long_text) + "]}]}");
        auto r = run(tmp / "img.tar");
        EXPECT_FALSE(r.opened);
        expect_failure(r, errc::bad_image);
    }
}

TEST(containerdisk_source, lower_layer_that_is_not_a_tar_fails_the_last_read) {
    test::temp_dir tmp;
    auto disk = write_random(tmp / "disk", 100000, 12);
    build(tmp, R"({"images": [{"layers": [)" + text_layer(true) + R"(,
        {"compression": "gzip", "entries": [)" + std::string(disk_entries) + R"(]}]}]})");
    auto r = run(tmp / "img.tar");
    ASSERT_TRUE(r.opened) << r.failure->message();
    EXPECT_TRUE(r.data == disk);
    expect_failure(r, errc::bad_image);
}

TEST(containerdisk_source, no_layers_is_bad_image) {
    test::temp_dir tmp;
    build(tmp, one_layer("gzip", R"({"path": "disk/disk.img", "type": "file", "content": "x"})"));
    std::vector<descriptor> none;
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a);
    auto s = containerdisk_source::open(**a, none);
    ASSERT_FALSE(s);
    EXPECT_TRUE(s.error().is(errc::bad_image)) << s.error().message();
}

}  // namespace
}  // namespace cdi
