#include "cloner/block_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace cdi {

namespace {
constexpr std::size_t read_size = 1 << 20;
// How far ahead of the reader the kernel is asked to fetch (POSIX_FADV_WILLNEED starts the reads and
// returns): the device's I/O overlaps the framing on this thread instead of adding to it.
constexpr std::uint64_t read_ahead = 16 << 20;
}

result<void> stream_block_device(int fd, std::uint64_t size, const std::string& name, framed_pipe& out) {
    // One pass front to back: the kernel's larger readahead window for it (advice only).
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    std::uint64_t advised = 0;
    auto buf = std::make_unique_for_overwrite<std::byte[]>(read_size);
    std::uint64_t off = 0;
    while (off < size) {
        if (advised < size && advised < off + read_ahead) {
            const std::uint64_t len = std::min<std::uint64_t>(read_ahead, size - advised);
            ::posix_fadvise(fd, static_cast<off_t>(advised), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
            advised += len;
        }
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(read_size, size - off));
        const ssize_t n = ::pread(fd, buf.get(), want, static_cast<off_t>(off));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "reading " + name + " at offset " + std::to_string(off));
        }
        if (n == 0) {
            return make_error(errc::truncated, name + " ended at " + std::to_string(off) + " bytes of its " +
                                                   std::to_string(size));
        }
        if (auto r = out.write(std::span<const std::byte>(buf.get(), static_cast<std::size_t>(n))); !r) return r;
        off += static_cast<std::uint64_t>(n);
    }
    return {};
}

}  // namespace cdi
