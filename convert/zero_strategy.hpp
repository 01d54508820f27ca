#pragma once
// How target_sink makes a range of a block device read back as zero, and preallocates files.
//
// Block devices hold old data, so a skipped zero run must really be zeroed. Methods are tried in
// order, cheapest first: fallocate(ZERO_RANGE), fallocate(PUNCH_HOLE|KEEP_SIZE) (the kernel
// guarantees zero reads or refuses), ioctl(BLKZEROOUT), then writing zeros. A method that fails with
// EOPNOTSUPP, EINVAL, ENOTTY or ENOSYS is disabled for the rest of the job (sticky, logged once with
// the reason); any other errno is an error of the job.
//
// The kernel calls go through disk_ops, injected by constructor, so tests can force every fallback.
// Thread-safety: none; one per target_sink.
#include "cdi/error.hpp"
#include "convert/aligned_buffer.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

enum class zero_method { zero_range, punch_hole, blkzeroout, write_zeros };

std::string_view to_string(zero_method m) noexcept;

// The system calls zeroing and preallocation use. Each returns 0 or the errno of the failure.
struct disk_ops {
    // fallocate(2) with the given mode flags.
    std::function<int(int fd, int mode, std::uint64_t offset, std::uint64_t length)> fallocate;
    // ioctl(BLKZEROOUT).
    std::function<int(int fd, std::uint64_t offset, std::uint64_t length)> blkzeroout;

    static disk_ops kernel();
};

class zero_strategy {
public:
    explicit zero_strategy(disk_ops ops = disk_ops::kernel());
    zero_strategy(zero_strategy&&) noexcept = default;
    zero_strategy& operator=(zero_strategy&&) noexcept = default;

    // Binds to the target's descriptor (not owned); name appears in error contexts and logs.
    void attach(int fd, std::string name);
    // Stops using a method for this job, logging the reason once.
    void disable(zero_method m, std::string_view reason);
    // The first method still enabled (write_zeros is never disabled).
    zero_method method() const noexcept;

    // Makes [offset, offset + length) read back as zero. Both must be multiples of the device's
    // logical block size (the ioctls refuse anything else): target_sink writes unaligned edges itself.
    result<void> zero(std::uint64_t offset, std::uint64_t length);
    // zero() for the device past the image's end (security.md 5.1), usually most of the device:
    // ioctl(BLKZEROOUT) first, which lets the kernel use write-zeroes or unmap, whichever the device
    // has; then zero()'s order. Not BLKZEROOUT first once unmapping is ruled out (punch_hole disabled
    // for preallocation). Same alignment rule as zero().
    result<void> zero_tail(std::uint64_t offset, std::uint64_t length);
    // Writes zeros over the range from a zero buffer allocated on first use. On an O_DIRECT
    // descriptor the range must be aligned as for zero().
    result<void> write_zeros(std::uint64_t offset, std::uint64_t length);
    // fallocate over the range (FALLOC_FL_KEEP_SIZE when keep_size): true when allocated, false
    // when the filesystem cannot (sticky, logged once).
    result<bool> allocate(std::uint64_t offset, std::uint64_t length, bool keep_size = false);

private:
    // 0 on success, else the errno of the attempt with method m.
    int try_method(zero_method m, std::uint64_t offset, std::uint64_t length);

    // Large enough that one write per chunk costs nothing next to the copy, small enough for RSS.
    static constexpr std::size_t zero_chunk = 8u << 20;

    disk_ops ops_;
    int fd_ = -1;
    std::string name_;
    std::array<bool, 4> disabled_{};
    bool allocate_disabled_ = false;
    std::optional<aligned_buffer> zeros_;
};

}  // namespace cdi
