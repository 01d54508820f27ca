#pragma once
// CDI's space arithmetic (contract 2.2, pkg/util/util.go GetUsableSpace / GetRequiredSpace) and the
// statvfs query behind it. The formulas are CDI's, in double precision like Go's float64, so the
// importer sizes images exactly as the controller expects.
#include "cdi/error.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

// CDI's DefaultAlignBlockSize: a multiple of every hardware block size (512 B .. 64 KiB).
inline constexpr std::uint64_t align_block_size = 1024 * 1024;

// RoundDown(ceil(available / (1 + overhead)), 1 MiB): the largest image a volume with `available`
// bytes holds once the filesystem's share (FILESYSTEM_OVERHEAD, 0.055 = 5.5%) is set aside.
std::uint64_t usable_space(std::uint64_t available, double overhead);

// ceil(RoundUp(image_size, 1 MiB) * (1 + overhead)): the volume size an image needs (the inverse the
// controller uses to size claims). Saturates at UINT64_MAX.
std::uint64_t required_space(std::uint64_t image_size, double overhead);

// Bytes an unprivileged writer may still use under dir (statvfs f_bavail * f_frsize).
// Failure is errc::io naming the path.
result<std::uint64_t> available_bytes(const std::filesystem::path& dir);

}  // namespace cdi
