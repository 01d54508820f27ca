#pragma once
// The size the clone's progress is measured against, as CDI's cloner_startup.sh computes it
// (contract 6.8), so the percentage the controller scrapes matches CDI's:
// - block: the device's size (blockdev --getsize64; block_device::size);
// - filesystem: `du -sb .` (apparent sizes) when preallocating, else `du -s --block-size=1 .`
//   (allocated bytes): every entry under the mount, the mount itself included, a hard-linked inode
//   counted once, symlinks not followed.
// Errors: errc::io naming the path that could not be read.
#include "cdi/error.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

result<std::uint64_t> tree_size(const std::filesystem::path& root, bool apparent);

}  // namespace cdi
