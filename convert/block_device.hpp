#pragma once
// Opening the target of a block volume (/dev/cdi-block-volume, an upload's DESTINATION): the one
// place that decides whether what is there is a block device, on the opened descriptor.
//
// Contract:
// - The path is opened once with O_NOFOLLOW (a symlink there is refused, never followed) and
//   O_NONBLOCK (a FIFO there cannot hang the open; the flag is cleared afterwards), then checked
//   S_ISBLK with fstat on that descriptor, so the check and the I/O are on the same object.
// - Anything but a block device (regular file, symlink, directory, FIFO, socket, character device)
//   is a configuration error: errc::bad_request naming what was found, and nothing is created,
//   unlinked, truncated or written. Other open failures (a missing path, EBUSY for O_EXCL) are
//   errno errors.
#include "cdi/error.hpp"
#include "cdi/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace cdi {

struct block_device {
    unique_fd fd;
    std::uint64_t size = 0;                // BLKGETSIZE64
    std::size_t logical_block_size = 512;  // BLKSSZGET, at least 512
};

// flags: the access mode plus any of O_EXCL; O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC are added here.
result<block_device> open_block_device(const std::filesystem::path& path, int flags);

// Makes [from, device_size) read back as zero (security.md 5.1: the VM sees the whole device, so
// nothing past the image may keep what the device held before). The rest of the logical block that
// holds `from` is written with pwrite (fd must not be in O_DIRECT mode then), the remainder goes to
// zeroer.zero_tail. Not fsynced: the caller syncs the device. name is for error contexts and logs.
class zero_strategy;
result<void> zero_past_image(int fd, const std::string& name, std::uint64_t from, std::uint64_t device_size,
                             std::size_t logical_block_size, zero_strategy& zeroer);

// zero_past_image on the block volume at path after someone else (qemu-img convert) wrote an image
// of image_size bytes to it; opened with open_block_device (O_WRONLY|O_EXCL, so qemu-img must have
// exited) and fsynced.
result<void> zero_block_device_past(const std::filesystem::path& path, std::uint64_t image_size);

}  // namespace cdi
