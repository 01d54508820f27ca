#include "convert/target_sink.hpp"

#include "convert/block_device.hpp"
#include "convert/durable.hpp"
#include "convert/no_eintr.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace cdi {

namespace {

// O_DIRECT alignment for files: the largest logical block size in common use, so any disk works.
constexpr std::size_t file_block_size = 4096;
// Bounce buffer for unaligned caller memory under O_DIRECT: big enough that the extra copy is the
// only cost, small next to the job buffer.
constexpr std::size_t bounce_size = 1u << 20;

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }


}  // namespace

target_sink::target_sink(unique_fd fd, std::filesystem::path path, bool block_device, std::size_t block_size,
                         std::optional<std::uint64_t> capacity, const target_options& opts, zero_strategy zeroer)
    : fd_(std::move(fd)),
      path_(std::move(path)),
      block_device_(block_device),
      block_size_(block_size),
      capacity_(capacity),
      opts_(opts),
      zeroer_(std::move(zeroer)),
      io_(fd_.get(), quoted(path_)),
      staging_(block_size) {
    zeroer_.attach(fd_.get(), name());
}

std::string target_sink::name() const { return quoted(path_); }

result<void> target_sink::init(const target_options& opts) {
    if (opts.direct_io) io_.enable();
    if (!opts.preallocate) return {};
    if (block_device_) {
        // Discarding could unmap thin-provisioned storage that preallocation asked to keep.
        zeroer_.disable(zero_method::punch_hole, "preallocation requested");
        return {};
    }
    // Probe fallocate on the empty file (KEEP_SIZE: the length stays 0). Without it, preallocation
    // means writing every zero, as CDI does with a plain full copy.
    auto probe = zeroer_.allocate(0, block_size_, true);
    if (!probe) return probe.error();
    write_file_zeros_ = !*probe;
    return {};
}

result<std::unique_ptr<target_sink>> target_sink::create_file(const std::filesystem::path& path,
                                                              const target_options& opts) {
    return create_file(path, opts, zero_strategy{});
}

result<std::unique_ptr<target_sink>> target_sink::create_file(const std::filesystem::path& path,
                                                              const target_options& opts, zero_strategy zeroer) {
    unique_fd fd(no_eintr([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660); }));
    if (!fd) return errno_error(errno, "creating target file " + quoted(path));
    // The umask must not narrow the mode the VM launcher relies on (CDI chmods 0660 too).
    if (::fchmod(fd.get(), 0660) != 0) {
        int err = errno;
        ::unlink(path.c_str());
        return errno_error(err, "setting the mode of " + quoted(path));
    }
    std::unique_ptr<target_sink> s(
        new target_sink(std::move(fd), path, false, file_block_size, opts.capacity, opts, std::move(zeroer)));
    if (auto r = s->init(opts); !r) {
        s->discard();
        return r.error();
    }
    return s;
}

result<std::unique_ptr<target_sink>> target_sink::open_block(const std::filesystem::path& path,
                                                             const target_options& opts) {
    return open_block(path, opts, zero_strategy{});
}

result<std::unique_ptr<target_sink>> target_sink::open_block(const std::filesystem::path& path,
                                                             const target_options& opts, zero_strategy zeroer) {
    // O_EXCL on a block device: fail with EBUSY if it is mounted or opened exclusively elsewhere.
    // O_RDWR: read_back() reads the written data through this descriptor, never the path again.
    auto dev = open_block_device(path, O_RDWR | O_EXCL);
    if (!dev) return dev.error();
    const std::uint64_t size = dev->size;
    const std::size_t block = dev->logical_block_size;
    unique_fd fd = std::move(dev->fd);
    std::uint64_t cap = opts.capacity ? std::min(*opts.capacity, size) : size;
    std::unique_ptr<target_sink> s(new target_sink(std::move(fd), path, true, block, cap, opts, std::move(zeroer)));
    s->device_size_ = size;
    if (auto r = s->init(opts); !r) return r.error();
    return s;
}

sink_caps target_sink::caps() const {
    return sink_caps{.block_device = block_device_, .direct_io = io_.in_use(), .block_size = block_size_};
}

result<void> target_sink::check_capacity(std::uint64_t len) const {
    if (capacity_ && (len > *capacity_ || offset_ > *capacity_ - len)) {
        return make_error(errc::too_large,
                          "image is larger than the target capacity of " + std::to_string(*capacity_) + " bytes");
    }
    return {};
}

result<void> target_sink::write_blocks(const std::byte* p, std::size_t len) {
    const bool aligned = reinterpret_cast<std::uintptr_t>(p) % block_size_ == 0;
    if (!io_.is_set() || aligned) {
        if (auto r = io_.pwrite_all(p, len, aligned_pos_); !r) return r;
        aligned_pos_ += len;
        return {};
    }
    if (!bounce_) bounce_.emplace(bounce_size);
    while (len > 0) {
        std::size_t n = std::min(len, bounce_->size());
        std::memcpy(bounce_->data(), p, n);
        if (auto r = io_.pwrite_all(bounce_->data(), n, aligned_pos_); !r) return r;
        aligned_pos_ += n;
        p += n;
        len -= n;
    }
    return {};
}

result<void> target_sink::emit_staging_block() {
    // A block of zeros on a fresh file stays a hole unless preallocation writes zeros.
    if (tail_has_data_ || block_device_ || write_file_zeros_) {
        if (auto r = io_.pwrite_all(staging_.data(), block_size_, aligned_pos_); !r) return r;
    }
    aligned_pos_ += block_size_;
    tail_len_ = 0;
    tail_has_data_ = false;
    return {};
}

result<void> target_sink::write(std::span<const std::byte> data) {
    if (data.empty()) return {};
    if (auto r = check_capacity(data.size()); !r) return r;
    const std::byte* p = data.data();
    std::size_t n = data.size();
    if (tail_len_ > 0) {
        std::size_t k = std::min(block_size_ - tail_len_, n);
        std::memcpy(staging_.data() + tail_len_, p, k);
        tail_len_ += k;
        tail_has_data_ = true;
        p += k;
        n -= k;
        if (tail_len_ == block_size_) {
            if (auto r = emit_staging_block(); !r) return r;
        }
    }
    if (std::size_t whole = n - n % block_size_; whole > 0) {
        if (auto r = write_blocks(p, whole); !r) return r;
        p += whole;
        n -= whole;
    }
    if (n > 0) {
        std::memcpy(staging_.data(), p, n);
        tail_len_ = n;
        tail_has_data_ = true;
    }
    offset_ += data.size();
    return {};
}

result<void> target_sink::zero(std::uint64_t len) {
    if (len == 0) return {};
    if (auto r = check_capacity(len); !r) return r;
    std::uint64_t remaining = len;
    if (tail_len_ > 0 && !tail_has_data_) {
        // The staging block holds only zeros so far: the run starts at aligned_pos_.
        remaining += tail_len_;
        tail_len_ = 0;
    } else if (tail_len_ > 0) {
        auto k = static_cast<std::size_t>(std::min<std::uint64_t>(block_size_ - tail_len_, remaining));
        std::memset(staging_.data() + tail_len_, 0, k);
        tail_len_ += k;
        remaining -= k;
        if (tail_len_ == block_size_) {
            if (auto r = emit_staging_block(); !r) return r;
        }
    }
    if (std::uint64_t whole = remaining - remaining % block_size_; whole > 0) {
        if (block_device_) {
            if (auto r = zeroer_.zero(aligned_pos_, whole); !r) return r;
        } else if (write_file_zeros_) {
            if (auto r = zeroer_.write_zeros(aligned_pos_, whole); !r) return r;
        }
        aligned_pos_ += whole;
        remaining -= whole;
    }
    if (remaining > 0) {
        std::memset(staging_.data(), 0, static_cast<std::size_t>(remaining));
        tail_len_ = static_cast<std::size_t>(remaining);
        tail_has_data_ = false;
    }
    offset_ += len;
    return {};
}

result<void> target_sink::write_tail() {
    if (tail_len_ == 0) return {};
    if (block_device_) {
        // A partial logical block cannot go through O_DIRECT: write the exact bytes buffered; flush()
        // turns O_DIRECT back on after fsync.
        if (io_.is_set()) {
            if (auto r = io_.set(false); !r) return r;
        }
        return io_.pwrite_all(staging_.data(), tail_len_, aligned_pos_);
    }
    if (!tail_has_data_ && !write_file_zeros_) return {};  // a hole; ftruncate sets the length
    if (!io_.is_set()) return io_.pwrite_all(staging_.data(), tail_len_, aligned_pos_);
    // Pad to a whole block; flush() truncates the file back to offset_.
    std::memset(staging_.data() + tail_len_, 0, block_size_ - tail_len_);
    return io_.pwrite_all(staging_.data(), block_size_, aligned_pos_);
}

result<void> target_sink::zero_past_end() {
    if (past_end_zeroed_) return {};
    // write_tail() left O_DIRECT off when the image ends inside a block, as zero_past_image needs.
    if (auto r = zero_past_image(fd_.get(), name(), offset_, device_size_, block_size_, zeroer_); !r) return r;
    past_end_zeroed_ = true;
    return {};
}

result<void> target_sink::flush() {
    if (auto r = write_tail(); !r) return r;
    if (!block_device_) {
        if (no_eintr([&] { return ::ftruncate(fd_.get(), static_cast<off_t>(offset_)); }) != 0) {
            return errno_error(errno, "setting the length of " + name() + " to " + std::to_string(offset_));
        }
        if (opts_.preallocate && !write_file_zeros_) {
            auto r = zeroer_.allocate(0, offset_);
            if (!r) return r.error();
            preallocation_applied_ = *r;
        } else {
            preallocation_applied_ = opts_.preallocate;
        }
    } else {
        if (auto r = zero_past_end(); !r) return r;
        preallocation_applied_ = opts_.preallocate;
    }
    if (opts_.scratch) return {};  // nothing to make durable: the file goes with the job
    if (no_eintr([&] { return ::fsync(fd_.get()); }) != 0) return errno_error(errno, "fsync of " + name());
    if (io_.in_use() && !io_.is_set()) {
        if (auto r = io_.set(true); !r) return r;
    }
    if (!block_device_ && !dir_synced_) {
        // The directory entry of a new file is durable only once its directory is synced.
        if (auto r = sync_parent_directory(path_); !r) return r;
        dir_synced_ = true;
    }
    return {};
}

result<void> target_sink::read_back(std::span<std::byte> out, std::uint64_t off) {
    if (auto r = io_.give_up(); !r) return r;  // unaligned offset and memory
    std::size_t got = 0;
    while (got < out.size()) {
        ssize_t n;
        do {
            n = ::pread(fd_.get(), out.data() + got, out.size() - got, static_cast<off_t>(off + got));
        } while (n < 0 && errno == EINTR);
        if (n < 0) return errno_error(errno, "reading back " + name());
        if (n == 0) return errno_error(EIO, "reading back " + name() + ": it ends before " + std::to_string(off + out.size()));
        got += static_cast<std::size_t>(n);
    }
    return {};
}

result<void> target_sink::cut_back(std::uint64_t len) {
    if (len > offset_) return make_error(errc::io, "cut_back past the end of " + name());
    if (auto r = io_.give_up(); !r) return r;
    if (block_device_) {
        // flush() already zeroed everything past offset_; the device keeps its size.
        std::vector<std::byte> zeros(static_cast<std::size_t>(std::min<std::uint64_t>(offset_ - len, 1u << 20)));
        for (std::uint64_t pos = len; pos < offset_;) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), offset_ - pos));
            if (auto r = io_.pwrite_all(zeros.data(), n, pos); !r) return r;
            pos += n;
        }
    } else if (no_eintr([&] { return ::ftruncate(fd_.get(), static_cast<off_t>(len)); }) != 0) {
        return errno_error(errno, "truncating " + name() + " to " + std::to_string(len));
    }
    offset_ = len;
    if (!opts_.scratch && no_eintr([&] { return ::fsync(fd_.get()); }) != 0) return errno_error(errno, "fsync of " + name());
    return {};
}

void target_sink::discard() {
    if (block_device_ || discarded_) return;
    discarded_ = true;
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        spdlog::warn("target {}: cannot remove after failure: {}", name(), std::generic_category().message(errno));
    }
}

result<std::uint64_t> block_device_size(const std::filesystem::path& path) {
    auto dev = open_block_device(path, O_RDONLY);
    if (!dev) return dev.error();
    return dev->size;
}

}  // namespace cdi
