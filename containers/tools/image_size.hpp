#pragma once
// The virtual size of a disk image file, for cdi-image-size-detection (the PVC clone controller's
// size-detection pod, contract section 0). The format is found by our own sniffer, never by qemu's
// probing; formats qemu-img converts are inspected (security.md §0.1: no backing or data files, no
// json: names) and then sized by `qemu-img info -f <format>`; raw and ISO images are their file size.
#include "cdi/error.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

class qemu_img;

// Errors: the file's (io), the sniffer's (empty, too_small, ambiguous_format), the inspector's,
// qemu-img's (corrupt_image), and bad_image for a file that is no disk image (compressed, tar, QED).
result<std::uint64_t> image_virtual_size(const std::filesystem::path& path, const qemu_img& qemu);

}  // namespace cdi
