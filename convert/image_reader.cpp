#include "convert/image_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace cdi {

result<image_reader> image_reader::open(const std::filesystem::path& path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno_error(errno, "open staged image " + path.string());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "stat staged image " + path.string());
    if (!S_ISREG(st.st_mode)) return make_error(errc::bad_request, "staged image " + path.string() + " is not a regular file");
    return image_reader(std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

result<std::size_t> image_reader::read_some(std::uint64_t offset, std::span<std::byte> buf) const {
    std::size_t done = 0;
    while (done < buf.size() && offset + done < size_) {
        const ssize_t n = ::pread(fd_.get(), buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "read staged image");
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

result<void> image_reader::read_at(std::uint64_t offset, std::span<std::byte> buf, std::string_view what) const {
    if (!contains(offset, buf.size())) {
        return make_error(errc::corrupt_image, std::string(what) + " at " + std::to_string(offset) + "+" +
                                                   std::to_string(buf.size()) + " is past the end of the file (" +
                                                   std::to_string(size_) + " bytes)");
    }
    auto n = read_some(offset, buf);
    if (!n) return n.error();
    if (*n != buf.size()) return make_error(errc::io, "staged image shrank while reading " + std::string(what));
    return {};
}

bool bytes_equal(std::span<const std::byte> b, std::size_t off, std::string_view s) noexcept {
    if (off > b.size() || s.size() > b.size() - off) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (std::to_integer<unsigned char>(b[off + i]) != static_cast<unsigned char>(s[i])) return false;
    }
    return true;
}

std::string sanitize_for_message(std::string_view raw, std::size_t max_chars) {
    std::string out;
    for (char ch : raw) {
        if (out.size() >= max_chars) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            out += ch;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return out;
}

error too_large_error(std::uint64_t virtual_size, std::uint64_t capacity) {
    return make_error(errc::too_large, "virtual image size " + std::to_string(virtual_size) +
                                           " is larger than the reported available storage " +
                                           std::to_string(capacity) + ". A larger PVC is required");
}

}  // namespace cdi
