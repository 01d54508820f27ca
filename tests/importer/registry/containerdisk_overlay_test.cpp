#include "importer/registry/containerdisk_overlay.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace cdi {
namespace {

using kind = containerdisk_overlay::kind;

struct entry_spec {
    std::string path;
    kind k = kind::regular;
};
using layer = std::vector<entry_spec>;

// One image's layers, TOP FIRST (the order the overlay is fed), and what must come of them:
// ok = true: the disk is `text`; ok = false: errc `code` with `text` in the context.
struct overlay_case {
    std::string name;
    std::vector<layer> layers;
    bool ok = true;
    std::string text;
    errc code = errc::ok;
};

std::ostream& operator<<(std::ostream& os, const overlay_case& c) { return os << c.name; }

const char* const not_found = "Failed to find VM disk image file in the container image";
const char* const two_files = "image directory contains more than one file";
const char* const subdir = "image directory contains another directory";

overlay_case disk(std::string name, std::vector<layer> layers, std::string path) {
    return {std::move(name), std::move(layers), true, std::move(path), errc::ok};
}
overlay_case fails(std::string name, std::vector<layer> layers, errc code, std::string text = {}) {
    return {std::move(name), std::move(layers), false, std::move(text), code};
}

const std::vector<overlay_case> cases = {
    // One disk, spelled in several ways.
    disk("one_regular_file", {{{"disk/", kind::directory}, {"disk/x"}}}, "disk/x"),
    disk("dot_slash_prefix", {{{"./disk/", kind::directory}, {"./disk/x"}}}, "disk/x"),
    disk("double_slash", {{{"disk//x"}}}, "disk/x"),
    disk("without_a_directory_entry", {{{"disk/disk.qcow2"}}}, "disk/disk.qcow2"),
    disk("disk_in_a_lower_layer_under_unrelated_upper_layers",
         {{{"etc/motd"}}, {{"usr/", kind::directory}}, {{"disk/", kind::directory}, {"disk/x"}}}, "disk/x"),

    // Nothing there.
    fails("no_disk_directory", {{{"etc/x"}}}, errc::bad_image, not_found),
    fails("empty_disk_directory", {{{"disk/", kind::directory}}}, errc::bad_image, not_found),
    fails("no_entries_at_all", {{}, {}}, errc::bad_image, not_found),

    // Ambiguity.
    fails("two_files_in_one_layer", {{{"disk/a"}, {"disk/b"}}}, errc::bad_image, two_files),
    fails("two_files_in_different_layers", {{{"disk/a"}}, {{"disk/b"}}}, errc::bad_image, two_files),
    fails("second_file_two_layers_below", {{{"disk/a"}}, {{"etc/x"}}, {{"disk/b"}}}, errc::bad_image, two_files),
    fails("explicit_subdirectory", {{{"disk/", kind::directory}, {"disk/sub/", kind::directory}}}, errc::bad_image, subdir),
    fails("implicit_subdirectory", {{{"disk/sub/x"}}}, errc::bad_image, subdir),
    fails("subdirectory_in_a_lower_layer", {{{"disk/x"}}, {{"disk/sub/y"}}}, errc::bad_image, subdir),
    fails("subdirectory_whiteout_is_inside_a_subdirectory", {{{"disk/x"}, {"disk/sub/.wh.y"}}}, errc::bad_image, subdir),
    fails("same_path_twice_in_one_layer", {{{"disk/x"}, {"disk/x"}}}, errc::bad_image),
    fails("same_path_twice_in_one_layer_spelled_differently", {{{"disk/x"}, {"./disk//x"}}}, errc::bad_image),

    // Entries that are not regular files (security.md E5).
    fails("symlink_under_disk", {{{"disk/x", kind::symlink}}}, errc::archive_unsafe_entry),
    fails("hardlink_under_disk", {{{"disk/x", kind::hardlink}}}, errc::archive_unsafe_entry),
    fails("device_under_disk", {{{"disk/x", kind::other}}}, errc::archive_unsafe_entry),
    fails("symlink_after_the_disk", {{{"disk/a"}, {"disk/l", kind::symlink}}}, errc::archive_unsafe_entry),
    fails("hardlink_in_a_lower_layer", {{{"disk/a"}}, {{"disk/h", kind::hardlink}}}, errc::archive_unsafe_entry),

    // ".." anywhere, even outside disk/ and in layers below the disk.
    fails("dotdot_escaping_from_disk", {{{"disk/../../etc/x"}}}, errc::archive_unsafe_entry),
    fails("dotdot_outside_disk", {{{"disk/x"}, {"a/../b"}}}, errc::archive_unsafe_entry),
    fails("dotdot_resolving_into_disk", {{{"a/../disk/x"}}}, errc::archive_unsafe_entry),
    fails("dotdot_in_a_lower_layer", {{{"disk/x"}}, {{"usr/../x"}}}, errc::archive_unsafe_entry),
    fails("dotdot_as_a_whole_path", {{{"..", kind::directory}}}, errc::archive_unsafe_entry),

    // Replacement by an upper layer.
    disk("upper_file_replaces_lower_file_of_the_same_name", {{{"disk/a"}}, {{"disk/a"}}}, "disk/a"),
    disk("upper_file_hides_a_lower_symlink_of_the_same_name", {{{"disk/a"}}, {{"disk/a", kind::symlink}}}, "disk/a"),

    // Whiteouts (security.md E6).
    disk("upper_whiteout_and_new_file_over_lower_file", {{{"disk/.wh.a"}, {"disk/b"}}, {{"disk/a"}}}, "disk/b"),
    disk("upper_whiteout_after_new_file", {{{"disk/b"}, {"disk/.wh.a"}}, {{"disk/a"}}}, "disk/b"),
    disk("whiteout_two_layers_up", {{{"disk/.wh.a"}, {"disk/b"}}, {{"etc/x"}}, {{"disk/a"}}}, "disk/b"),
    disk("whiteout_of_one_of_two_lower_files", {{{"disk/.wh.a"}}, {{"disk/a"}, {"disk/b"}}}, "disk/b"),
    fails("whiteout_of_the_only_file", {{{"disk/.wh.a"}}, {{"disk/a"}}}, errc::bad_image, not_found),
    disk("whiteout_hides_a_lower_subdirectory", {{{"disk/.wh.sub"}, {"disk/x"}}, {{"disk/sub/y"}}}, "disk/x"),
    disk("whiteout_hides_a_lower_symlink", {{{"disk/.wh.l"}, {"disk/x"}}, {{"disk/l", kind::symlink}}}, "disk/x"),
    disk("whiteout_before_own_entry_in_the_same_layer", {{{"disk/.wh.a"}, {"disk/a"}}}, "disk/a"),
    disk("whiteout_after_own_entry_in_the_same_layer", {{{"disk/a"}, {"disk/.wh.a"}}}, "disk/a"),
    fails("whiteout_of_another_name_does_not_hide_a_lower_file", {{{"disk/.wh.c"}, {"disk/b"}}, {{"disk/a"}}},
          errc::bad_image, two_files),

    // Opaque directories.
    disk("opaque_disk_hides_lower_children", {{{"disk/.wh..wh..opq"}, {"disk/new"}}, {{"disk/old"}}}, "disk/new"),
    fails("opaque_disk_alone_hides_everything_below", {{{"disk/.wh..wh..opq"}}, {{"disk/old"}}}, errc::bad_image, not_found),
    disk("opaque_disk_keeps_its_own_layer", {{{"disk/x"}, {"disk/.wh..wh..opq"}}}, "disk/x"),
    disk("opaque_disk_hides_a_lower_symlink_and_subdirectory",
         {{{"disk/.wh..wh..opq"}, {"disk/x"}}, {{"disk/l", kind::symlink}, {"disk/sub/y"}}}, "disk/x"),

    // Root-level hiding of disk itself.
    fails("root_whiteout_of_disk", {{{".wh.disk"}}, {{"disk/x"}}}, errc::bad_image, not_found),
    fails("root_opaque_marker", {{{".wh..wh..opq"}}, {{"disk/x"}}}, errc::bad_image, not_found),
    fails("root_whiteout_two_layers_up", {{{".wh.disk"}}, {{"etc/x"}}, {{"disk/x"}}}, errc::bad_image, not_found),
    disk("root_whiteout_then_recreated_disk_in_the_same_layer", {{{".wh.disk"}, {"disk/", kind::directory}, {"disk/y"}}, {{"disk/x"}}},
         "disk/y"),
    disk("root_opaque_marker_keeps_its_own_layer", {{{".wh..wh..opq"}, {"disk/y"}}, {{"disk/x"}}}, "disk/y"),
    fails("upper_regular_file_named_disk", {{{"disk"}}, {{"disk/x"}}}, errc::bad_image, not_found),
    fails("upper_symlink_named_disk", {{{"disk", kind::symlink}}, {{"disk/x"}}}, errc::bad_image, not_found),
    // The middle layer's file removed disk/ and its children; the top layer's new disk/ is empty.
    fails("directory_over_file_over_lower_disk", {{{"disk/", kind::directory}}, {{"disk"}}, {{"disk/x"}}}, errc::bad_image,
          not_found),

    // Names that only look like disk/.
    fails("disk_prefix_is_not_disk", {{{"diskfoo"}, {"diskfoo/x"}, {"disk.img"}}}, errc::bad_image, not_found),
    fails("nested_disk_is_not_disk", {{{"etc/disk/x"}, {"a/disk/b"}}}, errc::bad_image, not_found),
    disk("files_outside_disk_are_ignored", {{{"diskfoo"}, {"etc/disk/x"}, {"disk/x"}, {"disk.img"}}}, "disk/x"),
    disk("upper_whiteout_outside_disk_is_ignored", {{{"etc/.wh.x"}, {".wh.diskfoo"}}, {{"disk/x"}}}, "disk/x"),
};

class overlay_table : public testing::TestWithParam<overlay_case> {};

TEST_P(overlay_table, yields_the_visible_disk_or_refuses) {
    const auto& c = GetParam();
    containerdisk_overlay o;
    std::optional<error> failure;
    int hits = 0;
    for (const auto& l : c.layers) {
        for (const auto& e : l) {
            auto r = o.entry(e.path, e.k);
            if (!r) {
                failure = r.error();
                break;
            }
            if (*r) {
                ++hits;
                if (c.ok) {
                    EXPECT_EQ(o.disk_path(), c.text) << "entry " << e.path;
                }
            }
        }
        if (failure) break;
        o.end_layer();
    }
    if (!failure) {
        if (auto f = o.finish(); !f) failure = f.error();
    }
    if (c.ok) {
        ASSERT_FALSE(failure) << failure->message();
        EXPECT_EQ(hits, 1);
        EXPECT_EQ(o.disk_path(), c.text);
    } else {
        ASSERT_TRUE(failure) << "found " << o.disk_path();
        EXPECT_TRUE(failure->is(c.code)) << failure->message();
        EXPECT_NE(failure->context.find(c.text), std::string::npos) << failure->message();
        EXPECT_EQ(failure->context.find('\n'), std::string::npos) << "one line: " << failure->message();
    }
}

INSTANTIATE_TEST_SUITE_P(containerdisk_overlay, overlay_table, testing::ValuesIn(cases),
                         [](const testing::TestParamInfo<overlay_case>& i) { return i.param.name; });

TEST(containerdisk_overlay, not_found_text_is_exactly_cdis) {
    containerdisk_overlay o;
    ASSERT_TRUE(o.entry("etc/x", kind::regular));
    o.end_layer();
    auto f = o.finish();
    ASSERT_FALSE(f);
    EXPECT_TRUE(f.error().is(errc::bad_image));
    EXPECT_EQ(f.error().context, not_found);
}

TEST(containerdisk_overlay, returns_true_only_for_the_disk_entry) {
    containerdisk_overlay o;
    auto a = o.entry("disk/", kind::directory);
    ASSERT_TRUE(a);
    EXPECT_FALSE(*a);
    auto b = o.entry("etc/x", kind::regular);
    ASSERT_TRUE(b);
    EXPECT_FALSE(*b);
    auto c = o.entry("disk/disk.img", kind::regular);
    ASSERT_TRUE(c);
    EXPECT_TRUE(*c);
    EXPECT_EQ(o.disk_path(), "disk/disk.img");
    auto d = o.entry("disk/.wh.other", kind::regular);
    ASSERT_TRUE(d);
    EXPECT_FALSE(*d);
    o.end_layer();
    auto hidden = o.entry("disk/disk.img", kind::regular);  // the lower copy, replaced by the upper one
    ASSERT_TRUE(hidden);
    EXPECT_FALSE(*hidden);
    EXPECT_TRUE(o.finish());
}

TEST(containerdisk_overlay, names_both_files_when_refusing_a_second) {
    containerdisk_overlay o;
    ASSERT_TRUE(o.entry("disk/a.qcow2", kind::regular));
    o.end_layer();
    auto r = o.entry("disk/b.img", kind::regular);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("disk/a.qcow2"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().context.find("disk/b.img"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace cdi
