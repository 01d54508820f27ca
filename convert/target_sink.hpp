#pragma once
// The final target of an import or upload: a fresh regular file or a block device, written
// append-only (the sink contract in cdi/sink.hpp).
//
// - O_DIRECT when the target takes it (performance.md: ~2.5x faster than buffered + fsync here).
//   O_DIRECT needs aligned offsets, lengths and memory: whole aligned blocks are written straight
//   from the caller's memory when it is aligned (an aligned_buffer), through an aligned bounce
//   buffer otherwise; a partial block waits in a one-block staging buffer. If the filesystem refuses
//   O_DIRECT (EINVAL), the sink falls back to buffered I/O for good, logged once with the reason.
// - zero(): on a fresh file a hole (the offset just advances; flush() sets the length); on a block
//   device the range is really zeroed through zero_strategy.
// - Capacity: an append that would end past capacity() fails with errc::too_large before anything
//   is written, so a zero bomb fails as soon as its zeros pass the target's size.
// - flush(): writes the partial last block (padded then truncated back for files; exact bytes with
//   O_DIRECT turned off for that one write on block devices), sets a file's length, preallocates
//   when asked, and fsyncs (a file's directory too, the first time). On a block device the first
//   flush() also zeroes everything past the image's end (security.md 5.1: the VM sees the whole
//   device; convert/block_device.hpp zero_past_image).
// Thread-safety: none; one worker thread drives a sink.
#include "cdi/sink.hpp"
#include "cdi/unique_fd.hpp"
#include "convert/aligned_buffer.hpp"
#include "convert/direct_fd.hpp"
#include "convert/zero_strategy.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

namespace cdi {

struct target_options {
    // Hard cap in bytes; an append past it fails with errc::too_large and writes nothing.
    std::optional<std::uint64_t> capacity;
    // Files: fallocate the written length at flush(); where the filesystem has no fallocate (probed
    // at creation) zero runs are written as zeros instead of left as holes. Block devices: zero runs
    // never unmap (no PUNCH_HOLE), so everything stays allocated.
    bool preallocate = false;
    // Try O_DIRECT; fall back to buffered I/O when the target refuses it.
    bool direct_io = true;
    // A staging file in scratch (give direct_io = false): written through the page cache so that
    // its next reader, qemu-img, finds it there instead of re-reading the disk, and flush() neither
    // fsyncs nor syncs the directory: scratch does not outlive the job, and a file deleted before
    // the kernel writes it back costs no disk writes at all. Dirty pages are bounded by the kernel's
    // dirty limits (in a pod, its memory cgroup's). Measured: forcing writeback every 32 MiB with
    // sync_file_range cost 10.8-11.7 s against 7.2-8.4 s on the 4 GiB HTTP qcow2 import.
    bool scratch = false;
};

class target_sink final : public sink {
public:
    // A fresh regular file created O_CREAT|O_EXCL with mode 0660 (an existing file is an error: the
    // caller removes it first).
    static result<std::unique_ptr<target_sink>> create_file(const std::filesystem::path& path,
                                                            const target_options& opts);
    static result<std::unique_ptr<target_sink>> create_file(const std::filesystem::path& path,
                                                            const target_options& opts, zero_strategy zeroer);
    // A block device opened O_WRONLY|O_EXCL by open_block_device (O_NOFOLLOW, S_ISBLK checked on the
    // descriptor: anything else there is errc::bad_request and left untouched);
    // capacity = min(opts.capacity, BLKGETSIZE64).
    static result<std::unique_ptr<target_sink>> open_block(const std::filesystem::path& path,
                                                           const target_options& opts);
    static result<std::unique_ptr<target_sink>> open_block(const std::filesystem::path& path,
                                                           const target_options& opts, zero_strategy zeroer);

    target_sink(const target_sink&) = delete;
    target_sink& operator=(const target_sink&) = delete;
    ~target_sink() override = default;

    result<void> write(std::span<const std::byte> data) override;
    result<void> zero(std::uint64_t len) override;
    result<void> flush() override;
    std::uint64_t offset() const override { return offset_; }
    std::optional<std::uint64_t> capacity() const override { return capacity_; }
    sink_caps caps() const override;

    // After flush(), on this sink's own descriptor (opened O_RDWR), so a path swapped under the
    // writer is never followed (security.md): both turn O_DIRECT off for good (unaligned I/O).
    // read_back fills out with the bytes at off (errc::io when the target ends before them).
    result<void> read_back(std::span<std::byte> out, std::uint64_t off);
    // Drops everything from len on (len <= offset()): a file is truncated, a block device zeroed over
    // [len, offset()) (past offset() flush() already zeroed it); then fsync, and offset() is len.
    result<void> cut_back(std::uint64_t len);
    // Removes a file target (unlink) after a failure; a no-op for block devices. Idempotent.
    void discard();
    const std::filesystem::path& path() const { return path_; }
    // Whether the last flush() preallocated the target (always true for a block device asked to).
    bool preallocation_applied() const { return preallocation_applied_; }
    // The zeroing method block devices are using now (tests and logs).
    zero_method zeroing_method() const { return zeroer_.method(); }

private:
    target_sink(unique_fd fd, std::filesystem::path path, bool block_device, std::size_t block_size,
                std::optional<std::uint64_t> capacity, const target_options& opts, zero_strategy zeroer);

    result<void> check_capacity(std::uint64_t len) const;
    // Writes whole aligned blocks at aligned_pos_ and advances it.
    result<void> write_blocks(const std::byte* p, std::size_t len);
    // Writes the full staging block at aligned_pos_ (or skips it when it holds only zeros on a file).
    result<void> emit_staging_block();
    result<void> write_tail();
    // Zeroes the device past offset_, once (zero_past_image); block devices only.
    result<void> zero_past_end();
    result<void> init(const target_options& opts);
    std::string name() const;

    unique_fd fd_;
    std::filesystem::path path_;
    bool block_device_;
    std::size_t block_size_;  // alignment unit of offsets and lengths under O_DIRECT
    std::optional<std::uint64_t> capacity_;
    std::uint64_t device_size_ = 0;  // block devices: BLKGETSIZE64
    bool past_end_zeroed_ = false;
    target_options opts_;
    zero_strategy zeroer_;
    direct_fd io_;            // O_DIRECT on fd_, and the write loop
    std::uint64_t offset_ = 0;       // bytes appended (data and zeros)
    std::uint64_t aligned_pos_ = 0;  // everything before this offset is on the target
    aligned_buffer staging_;         // the block at aligned_pos_: tail_len_ bytes, zeros after them
    std::size_t tail_len_ = 0;
    bool tail_has_data_ = false;    // staging holds bytes from write(), not only zeros
    std::optional<aligned_buffer> bounce_;  // for unaligned caller memory under O_DIRECT
    bool write_file_zeros_ = false;  // files preallocated without fallocate: zero runs are written
    bool dir_synced_ = false;
    bool discarded_ = false;
    bool preallocation_applied_ = false;
};

// Capacity of a block device in bytes (BLKGETSIZE64); errc::bad_request when path is not one
// (open_block_device: a symlink there is refused, not followed).
result<std::uint64_t> block_device_size(const std::filesystem::path& path);

}  // namespace cdi
