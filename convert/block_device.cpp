#include "convert/block_device.hpp"

#include "convert/zero_strategy.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

namespace cdi {

namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

const char* kind_of(mode_t m) {
    if (S_ISREG(m)) return "a regular file";
    if (S_ISLNK(m)) return "a symlink";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    return "not a file of a known type";
}

error not_a_block_device(const std::filesystem::path& path, mode_t m) {
    return make_error(errc::bad_request, "the block volume " + quoted(path) + " is " + kind_of(m) +
                                             ", not a block device; it was left untouched");
}

}  // namespace

result<block_device> open_block_device(const std::filesystem::path& path, int flags) {
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    block_device dev{.fd = unique_fd(fd)};
    if (!dev.fd) {
        const int err = errno;
        // Say what is there instead of the errno a symlink (ELOOP), directory (EISDIR) or FIFO
        // without a reader (ENXIO) gives.
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && !S_ISBLK(st.st_mode)) return not_a_block_device(path, st.st_mode);
        return errno_error(err, "opening the block volume " + quoted(path));
    }
    struct stat st {};
    if (::fstat(dev.fd.get(), &st) != 0) return errno_error(errno, "stat of " + quoted(path));
    if (!S_ISBLK(st.st_mode)) return not_a_block_device(path, st.st_mode);
    const int fl = ::fcntl(dev.fd.get(), F_GETFL);
    if (fl < 0 || ::fcntl(dev.fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return errno_error(errno, "F_SETFL on " + quoted(path));
    if (::ioctl(dev.fd.get(), BLKGETSIZE64, &dev.size) != 0) return errno_error(errno, "BLKGETSIZE64 on " + quoted(path));
    int logical = 0;
    if (::ioctl(dev.fd.get(), BLKSSZGET, &logical) != 0) return errno_error(errno, "BLKSSZGET on " + quoted(path));
    dev.logical_block_size = std::max<std::size_t>(512, static_cast<std::size_t>(logical));
    return dev;
}

result<void> zero_past_image(int fd, const std::string& name, std::uint64_t from, std::uint64_t device_size,
                             std::size_t logical_block_size, zero_strategy& zeroer) {
    if (from >= device_size) return {};
    const auto started = std::chrono::steady_clock::now();
    const std::uint64_t total = device_size - from;
    if (const auto rem = from % logical_block_size; rem != 0) {
        const std::vector<char> zeros(logical_block_size - rem, 0);
        std::size_t done = 0;
        while (done < zeros.size()) {
            const ssize_t w = ::pwrite(fd, zeros.data() + done, zeros.size() - done, static_cast<off_t>(from + done));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) return errno_error(w < 0 ? errno : EIO, "zeroing " + name + " after the image's last byte");
            done += static_cast<std::size_t>(w);
        }
        from += zeros.size();
    }
    if (from < device_size) {
        if (auto r = zeroer.zero_tail(from, device_size - from); !r) return r;
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    spdlog::info("Zeroed the {} bytes of {} past the image with {} in {} ms", total, name, to_string(zeroer.method()),
                 ms.count());
    return {};
}

result<void> zero_block_device_past(const std::filesystem::path& path, std::uint64_t image_size) {
    auto dev = open_block_device(path, O_WRONLY | O_EXCL);
    if (!dev) return dev.error();
    zero_strategy zeroer;
    zeroer.attach(dev->fd.get(), quoted(path));
    if (auto r = zero_past_image(dev->fd.get(), quoted(path), image_size, dev->size, dev->logical_block_size, zeroer); !r) {
        return r;
    }
    if (::fsync(dev->fd.get()) != 0) return errno_error(errno, "fsync of " + quoted(path));
    return {};
}

}  // namespace cdi
