#include "convert/positional_output.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace cdi {

result<positional_file> positional_file::create(const std::filesystem::path& path, std::uint64_t size) {
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error(errno, "open " + path.string());
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return errno_error(errno, "ftruncate " + path.string());
    return positional_file(std::move(fd), size);
}

result<void> positional_file::check_range(std::uint64_t offset, std::uint64_t len) const {
    if (offset > size_ || len > size_ - offset) {
        return make_error(errc::too_large, "write at " + std::to_string(offset) + "+" + std::to_string(len) + " is past the target's " +
                                               std::to_string(size_) + " bytes");
    }
    return {};
}

result<void> positional_file::write_at(std::uint64_t offset, std::span<const std::byte> data) {
    if (auto r = check_range(offset, data.size()); !r) return r;
    while (!data.empty()) {
        const ssize_t n = ::pwrite(fd_.get(), data.data(), data.size(), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "pwrite target");
        }
        data = data.subspan(static_cast<std::size_t>(n));
        offset += static_cast<std::uint64_t>(n);
        data_bytes_ += static_cast<std::uint64_t>(n);
    }
    return {};
}

result<void> positional_file::zero_at(std::uint64_t offset, std::uint64_t len) {
    if (auto r = check_range(offset, len); !r) return r;
    if (len == 0) return {};
    zero_bytes_ += len;
    if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(len)) == 0) return {};
    if (errno != EOPNOTSUPP && errno != ENOSYS) return errno_error(errno, "fallocate punch target");
    // No hole punching here: write the zeros.
    const std::vector<std::byte> zeros(static_cast<std::size_t>(std::min<std::uint64_t>(len, 1u << 20)));
    while (len > 0) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(len, zeros.size()));
        if (auto r = write_at(offset, std::span(zeros).first(n)); !r) return r;
        data_bytes_ -= n;
        offset += n;
        len -= n;
    }
    return {};
}

result<void> positional_file::flush() {
    if (::fsync(fd_.get()) != 0) return errno_error(errno, "fsync target");
    return {};
}

result<void> coalescing_output::write_at(std::uint64_t offset, std::span<const std::byte> data) {
    if (auto r = send_zeros(); !r) return r;
    if (data_len_ > 0 && (offset != data_at_ + data_len_ || data_len_ + data.size() > limit_)) {
        if (auto r = send_data(); !r) return r;
    }
    if (data.size() >= limit_) return target_.write_at(offset, data);
    if (data_len_ == 0) {
        data_at_ = offset;
        lead_ = static_cast<std::size_t>(offset % align);
    }
    std::memcpy(buf_.data() + lead_ + data_len_, data.data(), data.size());
    data_len_ += data.size();
    return {};
}

result<void> coalescing_output::zero_at(std::uint64_t offset, std::uint64_t len) {
    if (auto r = send_data(); !r) return r;
    if (zero_len_ > 0 && offset == zero_at_ + zero_len_) {
        zero_len_ += len;
        return {};
    }
    if (auto r = send_zeros(); !r) return r;
    zero_at_ = offset;
    zero_len_ = len;
    return {};
}

result<void> coalescing_output::send_data() {
    if (data_len_ == 0) return {};
    const std::size_t n = std::exchange(data_len_, 0);
    return target_.write_at(data_at_, std::span<const std::byte>(buf_.data() + lead_, n));
}

result<void> coalescing_output::send_zeros() {
    if (zero_len_ == 0) return {};
    return target_.zero_at(zero_at_, std::exchange(zero_len_, 0));
}

result<void> coalescing_output::send() {
    if (auto r = send_data(); !r) return r;
    return send_zeros();
}

result<void> coalescing_output::flush() {
    if (auto r = send(); !r) return r;
    return target_.flush();
}

}  // namespace cdi
