#pragma once
// Where a decoder that emits guest offsets out of order writes: data at an offset, zeros over a
// range, flush. The streaming qcow2 decoder writes through it; the lead wires a target-sink-backed
// implementation later (issue 14). Ranges never written read as zeros: the implementation owns that
// (a fresh or truncated file is all holes; a block device is zeroed or discarded up front).
// Thread-safety: none.
#include "cdi/error.hpp"
#include "cdi/unique_fd.hpp"
#include "convert/aligned_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace cdi {

class positional_output {
public:
    virtual ~positional_output() = default;
    virtual result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) = 0;
    // [offset, offset + len) reads as zeros afterwards (a hole where the target can make one).
    virtual result<void> zero_at(std::uint64_t offset, std::uint64_t len) = 0;
    // Everything written is durable.
    virtual result<void> flush() = 0;
};

// A regular file created (or truncated) to exactly `size` bytes, all holes; zero_at punches holes.
class positional_file final : public positional_output {
public:
    static result<positional_file> create(const std::filesystem::path& path, std::uint64_t size);

    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override;
    result<void> flush() override;

    std::uint64_t data_bytes() const noexcept { return data_bytes_; }
    std::uint64_t zero_bytes() const noexcept { return zero_bytes_; }

private:
    positional_file(unique_fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
    result<void> check_range(std::uint64_t offset, std::uint64_t len) const;

    unique_fd fd_;
    std::uint64_t size_;
    std::uint64_t data_bytes_ = 0;
    std::uint64_t zero_bytes_ = 0;
};

// Gathers writes that continue each other into one write of up to `buffer` bytes, and zero ranges
// that continue each other into one zero_at, before handing them to target (a qcow2 stream decodes
// into one cluster at a time: 64 KiB writes otherwise). Writes that do not continue the gathered run
// send it first. flush() sends everything, then flushes target, which must outlive this.
class coalescing_output final : public positional_output {
public:
    // The run is kept at the same offset modulo 4 KiB in memory as on the target, so an O_DIRECT
    // target writes its aligned middle straight from this buffer, with no bounce copy.
    explicit coalescing_output(positional_output& target, std::size_t buffer = 1u << 20)
        : target_(target), buf_(buffer + align), limit_(buffer) {}

    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override;
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override;
    result<void> flush() override;
    // Sends what is gathered without flushing the target.
    result<void> send();

private:
    result<void> send_data();
    result<void> send_zeros();

    static constexpr std::size_t align = 4096;

    positional_output& target_;
    aligned_buffer buf_;
    std::size_t limit_;      // bytes a run may gather
    std::size_t lead_ = 0;   // data_at_ % align: where the run starts in buf_
    std::uint64_t data_at_ = 0;
    std::size_t data_len_ = 0;
    std::uint64_t zero_at_ = 0;
    std::uint64_t zero_len_ = 0;
};

}  // namespace cdi
