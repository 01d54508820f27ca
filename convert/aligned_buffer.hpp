#pragma once
// A heap buffer aligned for O_DIRECT, allocated and pre-faulted once (the machine pays ~15 us per
// fresh 4 KiB page), then reused for the whole job. Move-only; the memory is freed in the destructor.
#include <cstddef>
#include <span>

namespace cdi {

class aligned_buffer {
public:
    // size bytes aligned to align (a power of two, at least sizeof(void*)), zero-filled.
    // Throws std::bad_alloc when memory is exhausted (buffers are made at job start, not per chunk).
    explicit aligned_buffer(std::size_t size, std::size_t align = 4096);
    aligned_buffer(const aligned_buffer&) = delete;
    aligned_buffer& operator=(const aligned_buffer&) = delete;
    aligned_buffer(aligned_buffer&& o) noexcept;
    aligned_buffer& operator=(aligned_buffer&& o) noexcept;
    ~aligned_buffer();

    std::span<std::byte> span() noexcept { return {data_, size_}; }
    std::span<const std::byte> span() const noexcept { return {data_, size_}; }
    std::byte* data() noexcept { return data_; }
    const std::byte* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t alignment() const noexcept { return align_; }

private:
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t align_ = 0;
};

}  // namespace cdi
