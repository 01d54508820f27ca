#include "convert/aligned_buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace cdi {

aligned_buffer::aligned_buffer(std::size_t size, std::size_t align) : size_(size), align_(align) {
    if (size == 0) return;
    void* p = nullptr;
    if (::posix_memalign(&p, align, size) != 0) throw std::bad_alloc();
    data_ = static_cast<std::byte*>(p);
    // Touch every page now so the copy loop never takes a page fault.
    std::memset(data_, 0, size);
}

aligned_buffer::aligned_buffer(aligned_buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), align_(o.align_) {}

aligned_buffer& aligned_buffer::operator=(aligned_buffer&& o) noexcept {
    if (this != &o) {
        std::free(data_);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        align_ = o.align_;
    }
    return *this;
}

aligned_buffer::~aligned_buffer() { std::free(data_); }

}  // namespace cdi
