#include "convert/direct_fd.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cdi {

void direct_fd::enable() {
    if (auto r = set(true); !r) {
        spdlog::warn("target {}: O_DIRECT unavailable ({}); using buffered I/O", name_, r.error().context);
        return;
    }
    in_use_ = true;
}

result<void> direct_fd::set(bool on) {
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0) return errno_error(errno, "F_GETFL on " + name_);
    flags = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
    if (::fcntl(fd_, F_SETFL, flags) != 0) return errno_error(errno, "setting O_DIRECT on " + name_);
    is_set_ = on;
    return {};
}

result<void> direct_fd::give_up() {
    in_use_ = false;
    return is_set_ ? set(false) : result<void>{};
}

result<void> direct_fd::pwrite_all(const std::byte* p, std::size_t len, std::uint64_t off) {
    while (len > 0) {
        const ssize_t w = ::pwrite(fd_, p, len, static_cast<off_t>(off));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EINVAL && is_set_) {
                spdlog::warn("target {}: O_DIRECT write failed ({}); using buffered I/O from now on", name_,
                             std::generic_category().message(errno));
                if (auto r = give_up(); !r) return make_error(errc::io, "cannot turn O_DIRECT off on " + name_);
                continue;
            }
            return errno_error(errno, "writing " + name_ + " at offset " + std::to_string(off));
        }
        if (w == 0) return make_error(errc::io, "writing " + name_ + " made no progress");
        p += w;
        len -= static_cast<std::size_t>(w);
        off += static_cast<std::uint64_t>(w);
    }
    return {};
}

}  // namespace cdi
