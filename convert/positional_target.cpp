#include "convert/positional_target.hpp"

#include "convert/block_device.hpp"
#include "convert/durable.hpp"
#include "convert/no_eintr.hpp"
#include "convert/image_reader.hpp"
#include "convert/target_volume.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace cdi {
namespace {

// O_DIRECT alignment for files: the largest logical block size in common use, so any disk works.
constexpr std::size_t file_block_size = 4096;
// Bounce buffer for unaligned memory under O_DIRECT: the extra copy is then the only cost.
constexpr std::size_t bounce_size = 1u << 20;


}  // namespace

positional_target::positional_target(unique_fd fd, std::filesystem::path path, bool block, std::uint64_t size,
                                     std::size_t block_size, const positional_target_options& opts, zero_strategy zeroer)
    : fd_(std::move(fd)), path_(std::move(path)), block_(block), size_(size), block_size_(block_size), opts_(opts),
      zeroer_(std::move(zeroer)), io_(fd_.get(), path_.string()) {
    zeroer_.attach(fd_.get(), name());
}

result<std::unique_ptr<positional_target>> positional_target::open(const std::filesystem::path& path, bool block_volume,
                                                                   std::uint64_t size, const positional_target_options& opts) {
    return open(path, block_volume, size, opts, zero_strategy{});
}

result<std::unique_ptr<positional_target>> positional_target::open(const std::filesystem::path& path, bool block_volume,
                                                                   std::uint64_t size, const positional_target_options& opts,
                                                                   zero_strategy zeroer) {
    if (size > opts.capacity) return too_large_error(size, opts.capacity);
    if (block_volume) {
        auto dev = open_block_device(path, O_WRONLY | O_EXCL);
        if (!dev) return dev.error();
        if (size > dev->size) return too_large_error(size, dev->size);
        std::unique_ptr<positional_target> t(
            new positional_target(std::move(dev->fd), path, true, size, dev->logical_block_size, opts, std::move(zeroer)));
        if (auto r = t->init(dev->size, dev->logical_block_size); !r) return r.error();
        return t;
    }
    if (auto r = remove_file_if_present(path); !r) return r.error();
    unique_fd fd(no_eintr([&] { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660); }));
    if (!fd) return errno_error(errno, "creating target file " + path.string());
    std::unique_ptr<positional_target> t(
        new positional_target(std::move(fd), path, false, size, file_block_size, opts, std::move(zeroer)));
    // The umask must not narrow the mode the VM launcher relies on (CDI chmods 0660 too).
    if (::fchmod(t->fd_.get(), 0660) != 0 || ::ftruncate(t->fd_.get(), static_cast<off_t>(size)) != 0) {
        const int err = errno;
        t->discard();
        return errno_error(err, "preparing target file " + path.string());
    }
    if (auto r = t->init(0, 0); !r) {
        t->discard();
        return r.error();
    }
    return t;
}

result<void> positional_target::init(std::uint64_t device_size, std::size_t logical_block_size) {
    if (block_) {
        // Discarding could unmap thin-provisioned storage that preallocation asked to keep.
        if (opts_.preallocate) zeroer_.disable(zero_method::punch_hole, "preallocation requested");
        spdlog::info("Zeroing block device {} ({} bytes) before the image is written", name(), device_size);
        if (auto r = zero_past_image(fd_.get(), name(), 0, device_size, logical_block_size, zeroer_); !r) return r;
    }
    if (opts_.direct_io) io_.enable();
    return {};
}

result<void> positional_target::write_at(std::uint64_t offset, std::span<const std::byte> data) {
    if (offset > size_ || data.size() > size_ - offset) {
        return make_error(errc::too_large, "write at " + std::to_string(offset) + "+" + std::to_string(data.size()) +
                                               " is past the image's " + std::to_string(size_) + " bytes");
    }
    if (data.empty()) return {};
    data_bytes_ += data.size();
    if (!io_.in_use()) return write_buffered(offset, data);
    // Unaligned head and tail buffered, the aligned middle direct.
    const std::uint64_t bs = block_size_;
    const std::uint64_t end = offset + data.size();
    const std::uint64_t mid_from = std::min(end, (offset + bs - 1) / bs * bs);
    const std::uint64_t mid_to = std::max(mid_from, end / bs * bs);
    if (mid_from > offset) {
        if (auto r = write_buffered(offset, data.first(mid_from - offset)); !r) return r;
    }
    if (mid_to > mid_from) {
        if (auto r = write_direct(mid_from, data.subspan(mid_from - offset, mid_to - mid_from)); !r) return r;
    }
    if (end > mid_to) return write_buffered(mid_to, data.subspan(mid_to - offset));
    return {};
}

result<void> positional_target::write_buffered(std::uint64_t off, std::span<const std::byte> data) {
    if (io_.is_set()) {
        if (auto r = io_.set(false); !r) return r;
    }
    return io_.pwrite_all(data.data(), data.size(), off);
}

result<void> positional_target::write_direct(std::uint64_t off, std::span<const std::byte> data) {
    if (!io_.in_use()) return write_buffered(off, data);
    if (!io_.is_set()) {
        if (auto r = io_.set(true); !r) return r;
    }
    if (reinterpret_cast<std::uintptr_t>(data.data()) % block_size_ == 0) return io_.pwrite_all(data.data(), data.size(), off);
    if (!bounce_) bounce_ = std::make_unique<aligned_buffer>(bounce_size);
    while (!data.empty()) {
        const std::size_t n = std::min(data.size(), bounce_->size());
        std::memcpy(bounce_->data(), data.data(), n);
        if (auto r = io_.pwrite_all(bounce_->data(), n, off); !r) return r;
        data = data.subspan(n);
        off += n;
    }
    return {};
}

result<void> positional_target::zero_at(std::uint64_t offset, std::uint64_t len) {
    if (offset > size_ || len > size_ - offset) {
        return make_error(errc::too_large, "zeros at " + std::to_string(offset) + "+" + std::to_string(len) +
                                               " are past the image's " + std::to_string(size_) + " bytes");
    }
    return {};  // already zero: a hole, or the device zeroed at open (see the header)
}

result<void> positional_target::preallocate_file() {
    auto allocated = zeroer_.allocate(0, size_);
    if (!allocated) return allocated.error();
    if (*allocated) return {};
    // No fallocate here: write zeros into every hole, as a plain full copy would.
    if (auto r = io_.give_up(); !r) return r;
    for (off_t at = 0; static_cast<std::uint64_t>(at) < size_;) {
        const off_t hole = ::lseek(fd_.get(), at, SEEK_HOLE);
        if (hole < 0) return errno_error(errno, "SEEK_HOLE on " + name());
        if (static_cast<std::uint64_t>(hole) >= size_) break;
        off_t data = ::lseek(fd_.get(), hole, SEEK_DATA);
        if (data < 0 && errno != ENXIO) return errno_error(errno, "SEEK_DATA on " + name());
        const auto stop = data < 0 ? size_ : static_cast<std::uint64_t>(data);
        if (auto r = zeroer_.write_zeros(static_cast<std::uint64_t>(hole), stop - static_cast<std::uint64_t>(hole)); !r) return r;
        at = static_cast<off_t>(stop);
    }
    return {};
}

result<void> positional_target::flush() {
    if (opts_.preallocate) {
        if (!block_) {
            if (auto r = preallocate_file(); !r) return r;
        }
        preallocated_ = true;
    }
    if (no_eintr([&] { return ::fsync(fd_.get()); }) != 0) return errno_error(errno, "fsync of " + name());
    if (!block_ && !dir_synced_) {
        // The directory entry of a new file is durable only once its directory is synced.
        if (auto r = sync_parent_directory(path_); !r) return r;
        dir_synced_ = true;
    }
    return {};
}

void positional_target::discard() noexcept {
    if (block_ || discarded_) return;
    discarded_ = true;
    if (::unlink(path_.c_str()) == 0) spdlog::info("Removed the incomplete target {}", name());
}

}  // namespace cdi
