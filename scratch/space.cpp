#include "scratch/space.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cmath>
#include <limits>

namespace cdi {

namespace {

// A double to uint64, saturating: casting a value >= 2^64 would be undefined.
std::uint64_t to_u64(double v) {
    if (!(v > 0.0)) return 0;
    if (v >= 18446744073709551616.0) return std::numeric_limits<std::uint64_t>::max();
    return static_cast<std::uint64_t>(v);
}

}  // namespace

std::uint64_t usable_space(std::uint64_t available, double overhead) {
    const double without_overhead = std::ceil(static_cast<double>(available) / (1.0 + overhead));
    const std::uint64_t v = to_u64(without_overhead);
    return v / align_block_size * align_block_size;
}

std::uint64_t required_space(std::uint64_t image_size, double overhead) {
    constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t blocks = image_size / align_block_size + (image_size % align_block_size != 0 ? 1 : 0);
    if (blocks > max / align_block_size) return max;
    const std::uint64_t aligned = blocks * align_block_size;
    return to_u64(std::ceil(static_cast<double>(aligned) * (1.0 + overhead)));
}

result<std::uint64_t> available_bytes(const std::filesystem::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) {
        const int err = errno;
        return make_error(errc::io, "statvfs " + dir.string() + ": " + std::generic_category().message(err));
    }
    return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

}  // namespace cdi
