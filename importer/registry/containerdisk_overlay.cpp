#include "importer/registry/containerdisk_overlay.hpp"

#include <vector>

namespace cdi {
namespace {

constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_marker = ".wh..wh..opq";

// "./disk//a/" -> {"disk", "a"}; ".." is reported as such and refused by the caller.
std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
        const auto slash = path.find('/');
        auto part = path.substr(0, slash);
        if (!part.empty() && part != ".") out.emplace_back(part);
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

std::string_view kind_name(containerdisk_overlay::kind k) {
    switch (k) {
    case containerdisk_overlay::kind::symlink: return "a symbolic link";
    case containerdisk_overlay::kind::hardlink: return "a hard link";
    case containerdisk_overlay::kind::directory: return "a directory";
    case containerdisk_overlay::kind::regular: return "a regular file";
    case containerdisk_overlay::kind::other: break;
    }
    return "a device, FIFO or socket";
}

}  // namespace

bool containerdisk_overlay::hidden(const std::string& child) const {
    return upper_.disk_gone || upper_.children_gone || upper_.names.count(child) != 0;
}

result<bool> containerdisk_overlay::entry(std::string_view path, kind k) {
    const auto parts = components(path);
    for (const auto& p : parts) {
        if (p == "..")
            return make_error(errc::archive_unsafe_entry, "layer entry \"" + std::string(path) + "\" has a \"..\" component");
    }
    if (parts.empty()) return false;
    if (parts.size() == 1) {  // at the root: only what touches disk itself matters
        if (parts[0] == opaque_marker || parts[0] == std::string(whiteout_prefix) + "disk") {
            layer_.disk_gone = true;
        } else if (parts[0] == "disk") {
            // A non-directory "disk" replaces whatever disk/ the layers below it had (an upper
            // directory over it starts afresh: nothing below the file shows through).
            if (k != kind::directory) layer_.disk_gone = true;
        }
        return false;
    }
    if (parts[0] != "disk") return false;
    const std::string& child = parts[1];
    const std::string shown = "disk/" + child;

    if (parts.size() == 2 && child == opaque_marker) {
        layer_.children_gone = true;
        return false;
    }
    if (parts.size() == 2 && child.starts_with(whiteout_prefix)) {
        layer_.names.insert(child.substr(whiteout_prefix.size()));
        return false;
    }
    if (hidden(child)) return false;
    layer_.names.insert(child);
    if (parts.size() > 2 || k == kind::directory) {
        // Deeper entries (whiteouts included) live in a subdirectory, which is itself refused.
        return make_error(errc::bad_image, "image directory contains another directory (" + shown + ")");
    }
    if (!layer_paths_.insert(child).second)
        return make_error(errc::bad_image, "image directory entry " + shown + " appears twice in one layer");
    if (k != kind::regular)
        return make_error(errc::archive_unsafe_entry, shown + " is " + std::string(kind_name(k)) + ": the disk must be a regular file");
    if (!disk_path_.empty())
        return make_error(errc::bad_image, "image directory contains more than one file (" + disk_path_ + ", " + shown + ")");
    disk_path_ = shown;
    return true;
}

void containerdisk_overlay::end_layer() {
    upper_.disk_gone = upper_.disk_gone || layer_.disk_gone;
    upper_.children_gone = upper_.children_gone || layer_.children_gone;
    upper_.names.insert(layer_.names.begin(), layer_.names.end());
    layer_ = {};
    layer_paths_.clear();
}

result<void> containerdisk_overlay::finish() const {
    if (disk_path_.empty()) return make_error(errc::bad_image, "Failed to find VM disk image file in the container image");
    return {};
}

}  // namespace cdi
