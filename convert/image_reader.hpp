#pragma once
// Bounded random-access reads of a staged image file, for the format inspector. Every read names what
// it reads so a short file produces one line saying where the structure ends and where the file does.
// Also the helpers the format parsers share (the byte-order loads are in cdi/byte_order.hpp).
#include "cdi/byte_order.hpp"
#include "cdi/error.hpp"
#include "cdi/unique_fd.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace cdi {

class image_reader {
public:
    // Opens path read-only; the size is taken once (the staged file does not change under us).
    static result<image_reader> open(const std::filesystem::path& path);

    std::uint64_t size() const noexcept { return size_; }

    // True when [offset, offset + len) lies inside the file (no overflow).
    bool contains(std::uint64_t offset, std::uint64_t len) const noexcept {
        return offset <= size_ && len <= size_ - offset;
    }

    // Reads exactly buf.size() bytes at offset. A range past the end of the file is
    // errc::corrupt_image "<what> at <offset>+<len> is past the end of the file (<size> bytes)".
    result<void> read_at(std::uint64_t offset, std::span<std::byte> buf, std::string_view what) const;

    // Reads what is there of [offset, offset + buf.size()); returns the byte count (0 past the end).
    result<std::size_t> read_some(std::uint64_t offset, std::span<std::byte> buf) const;

private:
    image_reader(unique_fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}
    unique_fd fd_;
    std::uint64_t size_ = 0;
};

// True when b[off, off + s.size()) equals s; false when the range does not fit.
bool bytes_equal(std::span<const std::byte> b, std::size_t off, std::string_view s) noexcept;

// A string from an image, safe to put in an error line: printable ASCII kept, '"' and '\\' and
// everything else written as \xNN, cut at max_chars with "..." appended.
std::string sanitize_for_message(std::string_view raw, std::size_t max_chars = 200);

// "N is larger than ..." in CDI's words (pkg/image/qemu.go Validate), as errc::too_large.
error too_large_error(std::uint64_t virtual_size, std::uint64_t capacity);

}  // namespace cdi
