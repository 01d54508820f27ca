#pragma once
// The job's target written at guest offsets, in any order: what a stream-order decoder
// (qcow2_stream_decoder) writes through instead of the append-only target_sink.
//
// Contract:
// - A file target is replaced by a fresh file (O_CREAT|O_EXCL, 0660, the old one unlinked first:
//   never followed through a symlink) of exactly `size` bytes, all holes. A block volume is opened
//   with open_block_device (O_NOFOLLOW, S_ISBLK on the descriptor; anything else there is
//   errc::bad_request, untouched) and made to read back as zero over its whole length before the
//   first write (zero_past_image from 0: the kernel's write-zeroes or unmap where the device has
//   them), so every range the image leaves unallocated reads zero, and nothing past the image keeps
//   the device's old bytes (security.md 5.1).
// - size larger than the capacity (the device's size, or CDI's availableSpace for a file) is
//   errc::too_large with CDI's words before anything is opened; a write past size is errc::too_large.
// - write_at: aligned pieces go straight to the device under O_DIRECT (through an aligned bounce
//   buffer when the caller's memory is not aligned); unaligned edges with O_DIRECT turned off for
//   that write. A filesystem that refuses O_DIRECT gets buffered I/O for good, logged once.
// - zero_at: a no-op, so the range must not have been written before (narrower than
//   positional_output's contract): both targets read zero wherever nothing was written (holes, or the
//   zeroed device), and a stream decoder writes each guest byte at most once (a qcow2 L2 entry maps
//   one cluster; overlapping claims are refused before anything is written).
// - flush(): preallocates a file when asked (fallocate, else zeros written into its holes), then
//   fsyncs the target and, for a file, its directory. Only then may the job report success.
// - discard(): unlinks a file target (after a failure); a block device is left as is.
// Thread-safety: none; the decoder's thread drives it.
#include "cdi/unique_fd.hpp"
#include "convert/aligned_buffer.hpp"
#include "convert/direct_fd.hpp"
#include "convert/positional_output.hpp"
#include "convert/zero_strategy.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>

namespace cdi {

struct positional_target_options {
    std::uint64_t capacity = 0;  // CDI's availableSpace (target_volume.hpp): the image must fit in it
    bool preallocate = false;
    bool direct_io = true;
};

class positional_target final : public positional_output {
public:
    static result<std::unique_ptr<positional_target>> open(const std::filesystem::path& path, bool block_volume,
                                                           std::uint64_t size, const positional_target_options& opts);
    static result<std::unique_ptr<positional_target>> open(const std::filesystem::path& path, bool block_volume,
                                                           std::uint64_t size, const positional_target_options& opts,
                                                           zero_strategy zeroer);

    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override;
    result<void> flush() override;
    void discard() noexcept;

    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t data_bytes() const noexcept { return data_bytes_; }
    bool preallocation_applied() const noexcept { return preallocated_; }
    bool direct_io() const noexcept { return io_.in_use(); }

private:
    positional_target(unique_fd fd, std::filesystem::path path, bool block, std::uint64_t size, std::size_t block_size,
                      const positional_target_options& opts, zero_strategy zeroer);

    result<void> init(std::uint64_t device_size, std::size_t logical_block_size);
    result<void> write_buffered(std::uint64_t off, std::span<const std::byte> data);
    result<void> write_direct(std::uint64_t off, std::span<const std::byte> data);
    result<void> preallocate_file();
    std::string name() const { return path_.string(); }

    unique_fd fd_;
    std::filesystem::path path_;
    bool block_;
    std::uint64_t size_;
    std::size_t block_size_;  // O_DIRECT's unit of offsets, lengths and memory
    positional_target_options opts_;
    zero_strategy zeroer_;
    direct_fd io_;  // O_DIRECT on fd_, and the write loop
    std::unique_ptr<aligned_buffer> bounce_;  // for unaligned memory under O_DIRECT, made on first use
    std::uint64_t data_bytes_ = 0;
    bool preallocated_ = false;
    bool dir_synced_ = false;
    bool discarded_ = false;
};

}  // namespace cdi
