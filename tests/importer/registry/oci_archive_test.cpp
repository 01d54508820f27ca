#include "importer/registry/oci_archive.hpp"

#include "importer/registry/image_blobs.hpp"
#include "support/hostile_tars.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace cdi {
namespace {

using test::must_run;
namespace fs = std::filesystem;

const std::string oci_image_py = CDI_SOURCE_DIR "/tests/support/oci_image.py";

std::string sh_quote(const fs::path& p) { return "'" + p.string() + "'"; }

// Builds the image of spec (JSON) with oci_image.py into tmp/<name>/ and tmp/<name>.tar; returns the
// printed summary.
boost::json::value build(const test::temp_dir& tmp, const std::string& name, const std::string& spec) {
    const fs::path spec_file = tmp / (name + ".json");
    test::write_file(spec_file, spec.data(), spec.size());
    auto out = must_run("/usr/bin/python3 " + sh_quote(oci_image_py) + " " + sh_quote(spec_file) + " " + sh_quote(tmp / name) +
                        " --archive " + sh_quote(tmp / (name + ".tar")) + " 2>/dev/null");
    return boost::json::parse(out);
}

std::string image_spec(const std::string& tag, const std::string& content) {
    return R"({"tag": ")" + tag + R"(", "images": [{"layers": [{"compression": "none", "entries": [
               {"path": "disk/", "type": "dir"}, {"path": "disk/disk.img", "type": "file", "content": ")" +
           content + R"("}]}]}]})";
}

std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

descriptor blob_descriptor(const std::string& digest, std::uint64_t size = 0) {
    descriptor d;
    d.media_type = "application/vnd.oci.image.layer.v1.tar";
    d.digest = digest;
    d.size = size;
    return d;
}

std::string read_all(source& s) {
    auto b = test::drain(s);
    if (!b) return "<error " + b.error().message() + ">";
    return std::string(reinterpret_cast<const char*>(b->data()), b->size());
}

std::string file_text(const fs::path& p) {
    auto v = test::read_file(p);
    return std::string(v.begin(), v.end());
}

std::string hex_of(const std::string& digest) { return digest.substr(digest.find(':') + 1); }

TEST(oci_archive, single_image_top_manifest_is_the_only_index_entry) {
    test::temp_dir tmp;
    auto sum = build(tmp, "img", image_spec("latest", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_TRUE(m) << m.error().message();
    const std::string top = str(sum.at("top"));
    EXPECT_EQ(m->digest, top);
    EXPECT_EQ(m->content_type, "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(m->body, file_text(tmp / "img" / "blobs" / "sha256" / hex_of(top)));
    EXPECT_TRUE(verify_manifest(*m, "top"));
    auto parsed = parse_manifest(m->body, m->content_type);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_TRUE(std::holds_alternative<image_manifest>(*parsed));
}

TEST(oci_archive, single_image_is_found_by_its_ref_name_too) {
    test::temp_dir tmp;
    auto sum = build(tmp, "img", image_spec("v1", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "v1");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->digest, str(sum.at("top")));
    EXPECT_EQ((*a)->name(), "oci-archive:" + (tmp / "img.tar").string() + ":v1");
}

TEST(oci_archive, unknown_name_is_bad_image) {
    test::temp_dir tmp;
    build(tmp, "img", image_spec("v1", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "v2");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    EXPECT_NE(m.error().context.find("\"v2\""), std::string::npos) << m.error().message();
}

// oci_image.py writes one index.json entry per layout: build two layouts into one directory (blobs
// are content-addressed), merge their index.json entries and tar it with oci_image.py's own writer.
class two_named_images : public testing::Test {
protected:
    void SetUp() override {
        one_ = build(tmp_, "one", image_spec("one", "first disk"));
        two_ = build(tmp_, "two", image_spec("two", "second disk"));
        const fs::path script = tmp_ / "merge.py";
        const std::string text =
            "import json, os, shutil, sys\n"
            "sys.path.insert(0, os.path.dirname(sys.argv[1]))\n"
            "import oci_image\n"
            "root, out = sys.argv[2], sys.argv[3]\n"
            "entries = []\n"
            "for d in sys.argv[4:]:\n"
            "    entries += json.load(open(os.path.join(d, 'index.json')))['manifests']\n"
            "    for b in os.listdir(os.path.join(d, 'blobs', 'sha256')):\n"
            "        os.makedirs(os.path.join(root, 'blobs', 'sha256'), exist_ok=True)\n"
            "        shutil.copy(os.path.join(d, 'blobs', 'sha256', b), os.path.join(root, 'blobs', 'sha256', b))\n"
            "shutil.copy(os.path.join(sys.argv[4], 'oci-layout'), os.path.join(root, 'oci-layout'))\n"
            "json.dump({'schemaVersion': 2, 'mediaType': oci_image.OCI_INDEX, 'manifests': entries},\n"
            "          open(os.path.join(root, 'index.json'), 'w'))\n"
            "oci_image.write_archive(root, out)\n";
        test::write_file(script, text.data(), text.size());
        must_run("/usr/bin/python3 " + sh_quote(script) + " " + sh_quote(oci_image_py) + " " + sh_quote(tmp_ / "both") + " " +
                 sh_quote(tmp_ / "both.tar") + " " + sh_quote(tmp_ / "one") + " " + sh_quote(tmp_ / "two"));
    }

    test::temp_dir tmp_;
    boost::json::value one_, two_;
};

TEST_F(two_named_images, each_is_chosen_by_its_ref_name) {
    for (auto [name, sum] : {std::pair{"one", &one_}, std::pair{"two", &two_}}) {
        auto a = oci_archive::open(tmp_ / "both.tar", name);
        ASSERT_TRUE(a) << a.error().message();
        auto m = (*a)->top_manifest();
        ASSERT_TRUE(m) << name << ": " << m.error().message();
        EXPECT_EQ(m->digest, str(sum->at("top"))) << name;
        EXPECT_TRUE(verify_manifest(*m, name)) << name;
    }
    EXPECT_NE(str(one_.at("top")), str(two_.at("top")));
}

TEST_F(two_named_images, no_name_is_refused_naming_the_count) {
    auto a = oci_archive::open(tmp_ / "both.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    EXPECT_NE(m.error().context.find("2 images"), std::string::npos) << m.error().message();
}

TEST_F(two_named_images, unknown_name_is_refused) {
    auto a = oci_archive::open(tmp_ / "both.tar", "three");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    EXPECT_NE(m.error().context.find("three"), std::string::npos) << m.error().message();
}

TEST(oci_archive, open_blob_streams_the_stored_bytes) {
    test::temp_dir tmp;
    auto sum = build(tmp, "img", image_spec("latest", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    const auto& layer = sum.at("images").at(0).at("layers").at(0);
    const std::string digest = str(layer.at("digest"));
    const auto size = static_cast<std::uint64_t>(layer.at("size").as_int64());
    auto b = (*a)->open_blob(blob_descriptor(digest, size));
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ((*b)->size_hint(), size);
    EXPECT_EQ(read_all(**b), file_text(tmp / "img" / "blobs" / "sha256" / hex_of(digest)));

    auto config = (*a)->open_blob(blob_descriptor(str(sum.at("images").at(0).at("config"))));
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_NE(read_all(**config).find("\"architecture\":\"amd64\""), std::string::npos);
}

TEST(oci_archive, open_entry_ignores_a_leading_dot_slash) {
    test::temp_dir tmp;
    auto sum = build(tmp, "img", image_spec("latest", "payload"));
    // GNU tar of the directory names every member "./…".
    must_run("tar -C " + sh_quote(tmp / "img") + " -cf " + sh_quote(tmp / "dot.tar") + " .");
    ASSERT_NE(must_run("tar -tf " + sh_quote(tmp / "dot.tar")).find("./index.json"), std::string::npos);
    auto a = oci_archive::open(tmp / "dot.tar", "latest");
    ASSERT_TRUE(a) << a.error().message();
    auto idx = (*a)->open_entry("index.json");
    ASSERT_TRUE(idx) << idx.error().message();
    EXPECT_EQ(read_all(**idx), file_text(tmp / "img" / "index.json"));
    auto m = (*a)->top_manifest();
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->digest, str(sum.at("top")));
}

TEST(oci_archive, missing_file_is_bad_request) {
    test::temp_dir tmp;
    auto a = oci_archive::open(tmp / "absent.tar", "");
    ASSERT_FALSE(a);
    EXPECT_TRUE(a.error().is(errc::bad_request)) << a.error().message();
    EXPECT_NE(a.error().context.find("absent.tar"), std::string::npos) << a.error().message();
}

TEST(oci_archive, directory_is_bad_request) {
    test::temp_dir tmp;
    auto a = oci_archive::open(tmp.path(), "");
    ASSERT_FALSE(a);
    EXPECT_TRUE(a.error().is(errc::bad_request)) << a.error().message();
}

TEST(oci_archive, not_a_tar_is_bad_image) {
    test::temp_dir tmp;
    auto junk = test::random_bytes(10000, 7);
    test::write_file(tmp / "junk.tar", junk.data(), junk.size());
    test::write_file(tmp / "empty.tar", "", 0);
    for (const char* f : {"junk.tar", "empty.tar"}) {
        auto a = oci_archive::open(tmp / f, "");
        ASSERT_TRUE(a) << a.error().message();  // opening only checks the file; reading fails
        auto m = (*a)->top_manifest();
        ASSERT_FALSE(m) << f;
        EXPECT_TRUE(m.error().is(errc::bad_image)) << f << ": " << m.error().message();
        auto e = (*a)->open_entry("index.json");
        ASSERT_FALSE(e) << f;
        EXPECT_TRUE(e.error().is(errc::bad_image)) << f << ": " << e.error().message();
    }
}

TEST(oci_archive, tar_without_index_json_is_bad_image) {
    test::temp_dir tmp;
    test::python_tar(tmp / "a.tar", "reg('oci-layout', b'{\"imageLayoutVersion\":\"1.0.0\"}')\ndir('blobs')");
    auto a = oci_archive::open(tmp / "a.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    auto m = (*a)->top_manifest();
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    EXPECT_NE(m.error().context.find("index.json"), std::string::npos) << m.error().message();
}

TEST(oci_archive, missing_blob_is_bad_image) {
    test::temp_dir tmp;
    build(tmp, "img", image_spec("latest", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    const std::string absent = "sha256:" + std::string(64, '0');
    auto b = (*a)->open_blob(blob_descriptor(absent, 10));
    ASSERT_FALSE(b);
    EXPECT_TRUE(b.error().is(errc::bad_image)) << b.error().message();
    EXPECT_NE(b.error().context.find(std::string(64, '0')), std::string::npos) << b.error().message();
    auto m = (*a)->manifest(blob_descriptor(absent, 10));
    ASSERT_FALSE(m);
    EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    auto e = (*a)->open_entry("blobs/sha256/nothing");
    ASSERT_FALSE(e);
    EXPECT_TRUE(e.error().is(errc::bad_image)) << e.error().message();
}

TEST(oci_archive, malformed_digest_is_bad_image_and_never_a_path) {
    test::temp_dir tmp;
    build(tmp, "img", image_spec("latest", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    for (const char* d : {"sha256:../../index.json", "md5:0123456789abcdef0123456789abcdef", "index.json", ""}) {
        auto b = (*a)->open_blob(blob_descriptor(d));
        ASSERT_FALSE(b) << d;
        EXPECT_TRUE(b.error().is(errc::bad_image)) << d << ": " << b.error().message();
    }
}

TEST(oci_archive, blob_that_is_a_symlink_or_hardlink_is_bad_image) {
    test::temp_dir tmp;
    const std::string sym_hex(64, 'a'), hard_hex(64, 'b'), reg_hex(64, 'c');
    test::python_tar(tmp / "a.tar",
                     "reg('oci-layout', b'{\"imageLayoutVersion\":\"1.0.0\"}')\n"
                     "reg('blobs/sha256/" + reg_hex + "', b'regular blob')\n"
                     "sym('blobs/sha256/" + sym_hex + "', '" + reg_hex + "')\n"
                     "hard('blobs/sha256/" + hard_hex + "', 'blobs/sha256/" + reg_hex + "')\n"
                     "sym('index.json', '/etc/passwd')\n");
    auto a = oci_archive::open(tmp / "a.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    auto ok = (*a)->open_blob(blob_descriptor("sha256:" + reg_hex));
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(read_all(**ok), "regular blob");
    for (const auto& hex : {sym_hex, hard_hex}) {
        auto b = (*a)->open_blob(blob_descriptor("sha256:" + hex));
        ASSERT_FALSE(b) << hex;
        EXPECT_TRUE(b.error().is(errc::bad_image)) << b.error().message();
        EXPECT_NE(b.error().context.find("not a regular file"), std::string::npos) << b.error().message();
        auto m = (*a)->manifest(blob_descriptor("sha256:" + hex));
        ASSERT_FALSE(m) << hex;
        EXPECT_TRUE(m.error().is(errc::bad_image)) << m.error().message();
    }
    auto top = (*a)->top_manifest();  // index.json itself is a symlink
    ASSERT_FALSE(top);
    EXPECT_TRUE(top.error().is(errc::bad_image)) << top.error().message();
}

TEST(oci_archive, name_names_the_file) {
    test::temp_dir tmp;
    build(tmp, "img", image_spec("latest", "payload"));
    auto a = oci_archive::open(tmp / "img.tar", "");
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ((*a)->name(), "oci-archive:" + (tmp / "img.tar").string());
}

}  // namespace
}  // namespace cdi
