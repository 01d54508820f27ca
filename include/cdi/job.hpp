#pragma once
// What one import or upload job is asked to do, and what it reports back.
#include "cdi/image_format.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>

namespace cdi {

enum class content_type { kubevirt, archive };

// How qemu-img writes the target: try_none is -t none -W -m 16 when the target takes O_DIRECT
// (probed), else -t writeback. CDI uses writeback unless CACHE_MODE=TRYNONE; we use try_none
// whatever CACHE_MODE says (docs/compatibility.md: 2x faster here, and the target is fsynced after
// the conversion in both modes).
enum class cache_mode { writeback, try_none };

// Who converts a qcow2 or streamOptimized VMDK read from a stream (an upload body, HTTP, a registry
// layer, a compressed file): stream decodes it as it arrives, straight into the target
// (importer/job/stream_convert); qemu_img stages it whole in scratch and runs `qemu-img convert`, as
// CDI does and as every other format is. The operator's switch: CDI_CONVERTER=qemu-img.
enum class converter { stream, qemu_img };

struct job_spec {
    content_type content = content_type::kubevirt;
    // The disk: /data/disk.img (file) or /dev/cdi-block-volume (block device).
    std::filesystem::path target;
    // The pod was given a block volume and target is its device. Set from the environment by the
    // configuration, never inferred from what is found at target, so every job (import, upload,
    // clone target, blank disk) decides the same way: target must then be a block device
    // (convert/block_device.hpp: opened O_NOFOLLOW, S_ISBLK on the descriptor), and anything else
    // there is errc::bad_request, left untouched; never unlinked and replaced by a file.
    bool block_volume = false;
    // The volume's mount point: statvfs for a file target, destination of an archive.
    std::filesystem::path data_dir;
    // Scratch volume mount point; nullopt when the pod has none.
    std::optional<std::filesystem::path> scratch_dir;
    // IMPORTER_IMAGE_SIZE / UPLOAD_IMAGE_SIZE in bytes, when given.
    std::optional<std::uint64_t> requested_size;
    // FILESYSTEM_OVERHEAD as a fraction (0.055 = 5.5%).
    double filesystem_overhead = 0.0;
    bool preallocate = false;
    cache_mode cache = cache_mode::try_none;
    converter convert_with = converter::stream;
    // CACHE_MODE=TRYNONE, the controller's signal after an OOM kill: the writes that use the page
    // cache on purpose (the staged scratch file, the stream decoder's spill) bypass it too.
    bool page_cache_off = false;
};

struct job_result {
    image_format format = image_format::raw;  // the image's format once compression was unwrapped
    std::uint64_t virtual_size = 0;           // size of the raw disk written to the target
    std::uint64_t data_bytes = 0;             // bytes written as data (zero runs excluded); after a
                                              // conversion, the bytes qemu-img allocated (0 on a block device)
    bool preallocation_applied = false;
};

}  // namespace cdi
