#include "convert/zero_strategy.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace cdi {

namespace {

// errnos meaning "this method does not exist here", as opposed to a failure of the device.
bool unsupported(int err) { return err == EOPNOTSUPP || err == EINVAL || err == ENOTTY || err == ENOSYS; }

std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace

std::string_view to_string(zero_method m) noexcept {
    switch (m) {
    case zero_method::zero_range: return "fallocate(ZERO_RANGE)";
    case zero_method::punch_hole: return "fallocate(PUNCH_HOLE)";
    case zero_method::blkzeroout: return "ioctl(BLKZEROOUT)";
    case zero_method::write_zeros: return "writing zeros";
    }
    return "unknown";
}

disk_ops disk_ops::kernel() {
    disk_ops ops;
    ops.fallocate = [](int fd, int mode, std::uint64_t offset, std::uint64_t length) {
        int rc;
        do {
            rc = ::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(length));
        } while (rc != 0 && errno == EINTR);
        return rc == 0 ? 0 : errno;
    };
    ops.blkzeroout = [](int fd, std::uint64_t offset, std::uint64_t length) {
        std::uint64_t range[2] = {offset, length};
        int rc;
        do {
            rc = ::ioctl(fd, BLKZEROOUT, range);
        } while (rc != 0 && errno == EINTR);
        return rc == 0 ? 0 : errno;
    };
    return ops;
}

zero_strategy::zero_strategy(disk_ops ops) : ops_(std::move(ops)) {}

void zero_strategy::attach(int fd, std::string name) {
    fd_ = fd;
    name_ = std::move(name);
}

void zero_strategy::disable(zero_method m, std::string_view reason) {
    auto& d = disabled_[static_cast<std::size_t>(m)];
    if (d || m == zero_method::write_zeros) return;
    d = true;
    spdlog::warn("target {}: {} disabled for zeroing ({}); zeroing with {}", name_, to_string(m), reason,
                 to_string(method()));
}

zero_method zero_strategy::method() const noexcept {
    for (auto m : {zero_method::zero_range, zero_method::punch_hole, zero_method::blkzeroout}) {
        if (!disabled_[static_cast<std::size_t>(m)]) return m;
    }
    return zero_method::write_zeros;
}

int zero_strategy::try_method(zero_method m, std::uint64_t offset, std::uint64_t length) {
    switch (m) {
    case zero_method::zero_range: return ops_.fallocate(fd_, FALLOC_FL_ZERO_RANGE, offset, length);
    case zero_method::punch_hole:
        return ops_.fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    case zero_method::blkzeroout: return ops_.blkzeroout(fd_, offset, length);
    case zero_method::write_zeros: break;
    }
    return EINVAL;
}

result<void> zero_strategy::zero(std::uint64_t offset, std::uint64_t length) {
    if (length == 0) return {};
    for (auto m = method(); m != zero_method::write_zeros; m = method()) {
        int err = try_method(m, offset, length);
        if (err == 0) return {};
        if (!unsupported(err)) {
            return errno_error(err, "zeroing " + name_ + " at offset " + std::to_string(offset) + " (" +
                                        std::to_string(length) + " bytes) with " + std::string(to_string(m)));
        }
        disable(m, errno_text(err));
    }
    return write_zeros(offset, length);
}

result<void> zero_strategy::zero_tail(std::uint64_t offset, std::uint64_t length) {
    if (length == 0) return {};
    if (!disabled_[static_cast<std::size_t>(zero_method::punch_hole)] &&
        !disabled_[static_cast<std::size_t>(zero_method::blkzeroout)]) {
        int err = try_method(zero_method::blkzeroout, offset, length);
        if (err == 0) return {};
        if (!unsupported(err)) {
            return errno_error(err, "zeroing " + name_ + " past the image from offset " + std::to_string(offset) +
                                        " with " + std::string(to_string(zero_method::blkzeroout)));
        }
        disable(zero_method::blkzeroout, errno_text(err));
    }
    return zero(offset, length);
}

result<void> zero_strategy::write_zeros(std::uint64_t offset, std::uint64_t length) {
    if (!zeros_) zeros_.emplace(zero_chunk);
    while (length > 0) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, zeros_->size()));
        ssize_t w = ::pwrite(fd_, zeros_->data(), n, static_cast<off_t>(offset));
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "writing zeros to " + name_ + " at offset " + std::to_string(offset));
        }
        if (w == 0) return make_error(errc::io, "writing zeros to " + name_ + " made no progress");
        offset += static_cast<std::uint64_t>(w);
        length -= static_cast<std::uint64_t>(w);
    }
    return {};
}

result<bool> zero_strategy::allocate(std::uint64_t offset, std::uint64_t length, bool keep_size) {
    if (allocate_disabled_) return false;
    if (length == 0) return true;
    int err = ops_.fallocate(fd_, keep_size ? FALLOC_FL_KEEP_SIZE : 0, offset, length);
    if (err == 0) return true;
    if (!unsupported(err)) {
        return errno_error(err, "preallocating " + name_ + " (" + std::to_string(length) + " bytes)");
    }
    allocate_disabled_ = true;
    spdlog::warn("target {}: fallocate unavailable for preallocation ({}); writing zeros instead of holes", name_,
                 errno_text(err));
    return false;
}

}  // namespace cdi
