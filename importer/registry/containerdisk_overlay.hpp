#pragma once
// Which file of a containerdisk is THE disk (contract section 5, security.md E5/E6): the one
// regular file directly under disk/ in the image's final filesystem view. Layers are fed top
// (last in the manifest) first, so the first visible file found is final at once and can be
// streamed while the lower layers are only checked:
//   - an entry is hidden by anything an upper layer put at the same path, by an upper whiteout of
//     it (".wh.<name>") or of disk itself, by an upper opaque marker (".wh..wh..opq") in disk/ or at
//     the root, and by an upper non-directory "disk";
//   - whiteouts of a layer apply to the layers below it only (OCI image-spec), never to its own entries.
// Unlike CDI (first hit in the LOWEST layer, a plain "disk" name prefix, whiteouts ignored), the
// result is what a container runtime would show under /disk.
//
// Refusals, each a one-line error:
//   - a path with a ".." component anywhere in a layer: errc::archive_unsafe_entry;
//   - a visible disk/<x> that is a symlink, hard link, device, FIFO or socket: errc::archive_unsafe_entry;
//   - a visible directory under disk/: errc::bad_image "image directory contains another directory";
//   - a second visible file: errc::bad_image "image directory contains more than one file";
//   - the same disk/ path twice in one layer: errc::bad_image;
//   - no visible file after the last layer (finish()): errc::bad_image
//     "Failed to find VM disk image file in the container image" (CDI's text).
#include "cdi/error.hpp"

#include <set>
#include <string>
#include <string_view>

namespace cdi {

class containerdisk_overlay {
public:
    enum class kind { regular, directory, symlink, hardlink, other };

    // One entry of the current layer, in archive order. True: this entry is the disk; its data is
    // the disk's content. The path is the entry's path as stored.
    result<bool> entry(std::string_view path, kind k);
    // The current layer ended; its entries and whiteouts now hide those of the layers below.
    void end_layer();
    // After the last layer: the disk was found, else CDI's not-found error.
    result<void> finish() const;

    // "disk/disk.qcow2" once found.
    const std::string& disk_path() const noexcept { return disk_path_; }

private:
    struct hiding {
        bool disk_gone = false;       // disk removed or replaced by a non-directory: nothing below counts
        bool children_gone = false;   // disk/ made opaque: the lower disk/ entries are gone
        std::set<std::string> names;  // disk/<name> present or whited out
    };

    bool hidden(const std::string& child) const;

    hiding upper_;  // what the layers above the current one hide
    hiding layer_;  // what the current layer adds (applies from the next layer down)
    std::set<std::string> layer_paths_;  // disk/ paths of the current layer
    std::string disk_path_;
    std::string found_in_layer_;  // the disk name when found in the current layer
};

}  // namespace cdi
