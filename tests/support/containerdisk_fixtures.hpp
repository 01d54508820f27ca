#pragma once
// Containerdisk images for unit tests: OCI layouts and oci-archive tars built by oci_image.py from a
// JSON spec ("@" in the spec is the temp dir), blobs patched in place inside the tar (the tar stays
// valid, the digest no longer matches), and a drain of resolve_containerdisk + containerdisk_source
// that records what came out and how it ended.
#include "importer/registry/containerdisk_image.hpp"
#include "importer/registry/containerdisk_source.hpp"
#include "importer/registry/oci_archive.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace cdi::test {

namespace fs = std::filesystem;

inline const std::string oci_image_py = CDI_SOURCE_DIR "/tests/support/oci_image.py";

inline std::string sh_quote(const fs::path& p) { return "'" + p.string() + "'"; }

// The spec with every "@" replaced by the temp dir (input files are named "@/file").
inline boost::json::value build(const test::temp_dir& tmp, std::string spec, const std::string& name = "img") {
    for (auto at = spec.find('@'); at != std::string::npos; at = spec.find('@', at)) {
        spec.replace(at, 1, tmp.path().string());
        at += tmp.path().string().size();
    }
    const fs::path spec_file = tmp / (name + ".json");
    test::write_file(spec_file, spec.data(), spec.size());
    auto out = must_run("/usr/bin/python3 " + sh_quote(oci_image_py) + " " + sh_quote(spec_file) + " " + sh_quote(tmp / name) +
                        " --archive " + sh_quote(tmp / (name + ".tar")) + " 2>/dev/null");
    return boost::json::parse(out);
}

inline std::string str(const boost::json::value& v) { return std::string(v.as_string()); }
inline std::string layer_digest(const boost::json::value& sum, std::size_t image, std::size_t layer) {
    return str(sum.at("images").at(image).at("layers").at(layer).at("digest"));
}

inline bytes write_random(const fs::path& p, std::size_t n, std::uint32_t seed) {
    auto b = test::random_bytes(n, seed);
    test::write_file(p, b.data(), b.size());
    return b;
}

// Rewrites the tar member's data in place, keeping the tar valid: `mode` "flip" xors the byte at
// offset (negative: from the end) with 0xff; "replace" swaps the first occurrence of old for new
// (same length).
inline void patch_member(const fs::path& tar, const std::string& member, const std::string& python_patch) {
    const fs::path script = fs::path(tar).replace_extension(".patch.py");
    const std::string text =
        "import sys, tarfile\n"
        "with tarfile.open(sys.argv[1]) as t:\n"
        "    m = t.getmember(sys.argv[2])\n"
        "with open(sys.argv[1], 'r+b') as f:\n"
        "    f.seek(m.offset_data)\n"
        "    data = bytearray(f.read(m.size))\n"
        "    before = bytes(data)\n" +
        python_patch +
        "\n    assert len(data) == m.size and bytes(data) != before\n"
        "    f.seek(m.offset_data)\n"
        "    f.write(data)\n";
    test::write_file(script, text.data(), text.size());
    must_run("/usr/bin/python3 " + sh_quote(script) + " " + sh_quote(tar) + " " + sh_quote(member));
}
inline void flip_byte(const fs::path& tar, const std::string& digest, long offset) {
    patch_member(tar, "blobs/sha256/" + digest.substr(7), "    data[" + std::to_string(offset) + "] ^= 0xff");
}
inline void replace_text(const fs::path& tar, const std::string& digest, const std::string& from, const std::string& to) {
    patch_member(tar, "blobs/sha256/" + digest.substr(7),
                 "    i = data.index(b'" + from + "')\n    data[i:i + " + std::to_string(from.size()) + "] = b'" + to + "'");
}

struct drained {
    bool opened = false;
    bytes data;
    std::optional<error> failure;  // from open or from a read
    std::string disk_path, disk_layer;
    std::optional<std::uint64_t> size_hint;
};

// resolve_containerdisk + containerdisk_source::open + reads until 0 or an error (64 KiB reads).
inline drained run(const fs::path& tar, std::string_view arch = "", std::vector<descriptor>* layers_override = nullptr) {
    drained out;
    auto a = oci_archive::open(tar, "");
    if (!a) return out.failure = a.error(), out;
    auto img = resolve_containerdisk(**a, arch);
    if (!img) return out.failure = img.error(), out;
    auto s = containerdisk_source::open(**a, layers_override ? *layers_override : img->layers);
    if (!s) return out.failure = s.error(), out;
    out.opened = true;
    out.disk_path = (*s)->disk_path();
    out.disk_layer = (*s)->disk_layer();
    out.size_hint = (*s)->size_hint();
    bytes buf(64 * 1024);
    for (;;) {
        auto n = (*s)->read(buf);
        if (!n) {
            out.failure = n.error();
            auto again = (*s)->read(buf);  // unusable after an error: never a late clean 0
            EXPECT_FALSE(again) << "a read after an error succeeded";
            return out;
        }
        if (*n == 0) return out;
        out.data.insert(out.data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
}

inline std::string one_layer(const std::string& compression, const std::string& entries) {
    return R"({"images": [{"layers": [{"compression": ")" + compression + R"(", "entries": [)" + entries + "]}]}]}";
}
inline const char* const disk_entries = R"({"path": "disk/", "type": "dir"}, {"path": "disk/disk.img", "type": "file", "source": "@/disk"})";

inline void expect_disk(const drained& r, const bytes& want, const std::string& path = "disk/disk.img") {
    ASSERT_TRUE(r.opened) << r.failure->message();
    ASSERT_FALSE(r.failure) << r.failure->message();
    EXPECT_EQ(r.data.size(), want.size());
    EXPECT_TRUE(r.data == want) << "the bytes read differ from the input file";
    EXPECT_EQ(r.disk_path, path);
    EXPECT_EQ(r.size_hint, want.size());
}

inline void expect_failure(const drained& r, errc code, const std::string& text = {}) {
    ASSERT_TRUE(r.failure) << "ended cleanly after " << r.data.size() << " bytes";
    EXPECT_TRUE(r.failure->is(code)) << r.failure->message();
    EXPECT_NE(r.failure->context.find(text), std::string::npos) << r.failure->message();
}

}  // namespace cdi::test
