#include "convert/qcow2_stream_spill.hpp"

#include "convert/no_eintr.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

namespace cdi {
namespace {

// O_DIRECT alignment and the punching unit: the largest logical block size in common use (as target_sink).
constexpr std::uint64_t block = 4096;
// Staging (direct appends) and bounce (direct reads) buffers: big enough that a syscall moves a lot.
constexpr std::size_t buffer_size = 1u << 20;

std::uint64_t floor_block(std::uint64_t v) { return v / block * block; }
std::uint64_t ceil_block(std::uint64_t v) { return (v + block - 1) / block * block; }

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

// 0 or the errno of the failed pwrite; EINTR and short writes retried.
int pwrite_full(int fd, const std::byte* p, std::size_t len, std::uint64_t off) {
    while (len > 0) {
        const ssize_t w = ::pwrite(fd, p, len, static_cast<off_t>(off));
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        p += w;
        len -= static_cast<std::size_t>(w);
        off += static_cast<std::uint64_t>(w);
    }
    return 0;
}

// 0 or the errno of the failed pread; the file ending early is EIO (only bytes written are read).
int pread_full(int fd, std::byte* p, std::size_t len, std::uint64_t off) {
    while (len > 0) {
        const ssize_t r = ::pread(fd, p, len, static_cast<off_t>(off));
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (r == 0) return EIO;
        p += r;
        len -= static_cast<std::size_t>(r);
        off += static_cast<std::uint64_t>(r);
    }
    return 0;
}

}  // namespace

stream_spill::stream_spill(spill_options opts, naming how) : opts_(std::move(opts)), naming_(how) {}

result<void> stream_spill::create_file() {
    direct_ = opts_.direct;
    const std::string what = "creating a spill file in " + quoted(opts_.dir);
    for (;;) {
        const int flags = O_RDWR | O_CLOEXEC | (direct_ ? O_DIRECT : 0);
        int fd = -1;
        int err = 0;
        if (naming_ == naming::tmpfile_first) {
            fd = no_eintr([&] { return ::open(opts_.dir.c_str(), O_TMPFILE | flags, 0600); });
            err = fd < 0 ? errno : 0;
            if (err == EOPNOTSUPP || err == EISDIR) naming_ = naming::named_only;  // no O_TMPFILE here
        }
        if (naming_ == naming::named_only) {
            // A name nobody else uses (O_EXCL), gone from the directory before anything is written.
            static std::atomic<std::uint64_t> counter{0};
            for (int attempt = 0; attempt < 100; ++attempt) {
                const auto tick = std::chrono::steady_clock::now().time_since_epoch().count();
                const auto name = opts_.dir / (".cdi-qcow2-spill-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                                               std::to_string(tick));
                fd = no_eintr([&] { return ::open(name.c_str(), O_CREAT | O_EXCL | flags, 0600); });
                err = fd < 0 ? errno : 0;
                if (fd >= 0 && ::unlink(name.c_str()) != 0) {
                    err = errno;
                    ::close(fd);
                    return errno_error(err, "unlinking the spill file " + quoted(name));
                }
                if (err != EEXIST) break;
            }
        }
        if (fd >= 0) {
            fd_.reset(fd);
            break;
        }
        if (err == EINVAL && direct_) {
            spdlog::warn("spill file in {}: O_DIRECT unavailable ({}); using buffered I/O", quoted(opts_.dir),
                         std::generic_category().message(err));
            direct_ = false;
            continue;
        }
        return errno_error(err, what);
    }
    if (direct_) staging_.emplace(buffer_size);
    return {};
}

result<std::uint64_t> stream_spill::append(std::span<const std::byte> data) {
    const std::uint64_t n = data.size();
    if (charged() + n > opts_.limit) {
        return make_error(errc::no_space, "scratch space is too small for this image's layout: holding what arrives before its tables "
                                          "needs more than the " + std::to_string(opts_.limit) + " bytes of scratch available");
    }
    if (n == 0) return end_;
    if (!fd_) {
        if (auto r = create_file(); !r) return r.error();
    }
    const std::uint64_t at = end_;
    if (auto r = write_at(at, data); !r) return r.error();
    end_ = at + n;
    if (!live_.empty() && std::prev(live_.end())->first + std::prev(live_.end())->second == at) {
        std::prev(live_.end())->second += n;  // continues the last run in use
    } else {
        live_.emplace_hint(live_.end(), at, n);
    }
    in_use_ += n;
    written_ += n;
    peak_ = std::max(peak_, charged());
    return at;
}

result<void> stream_spill::write_at(std::uint64_t at, std::span<const std::byte> data) {
    while (direct_ && !data.empty()) {
        // Staging holds the file's bytes [flushed_, flushed_ + filled_); written out whenever full.
        const std::size_t n = std::min(data.size(), staging_->size() - filled_);
        std::memcpy(staging_->data() + filled_, data.data(), n);
        data = data.subspan(n);
        filled_ += n;
        at += n;
        if (filled_ == staging_->size()) {
            if (auto r = flush_staging(); !r) return r;
        }
    }
    if (data.empty()) return {};
    if (const int err = pwrite_full(fd_.get(), data.data(), data.size(), at); err != 0) {
        return errno_error(err, "writing the spill file in " + quoted(opts_.dir));
    }
    flushed_ = at + data.size();
    return {};
}

result<void> stream_spill::flush_staging() {
    const int err = pwrite_full(fd_.get(), staging_->data(), staging_->size(), flushed_);
    if (err == EINVAL) return fall_back_to_buffered(err);
    if (err != 0) return errno_error(err, "writing the spill file in " + quoted(opts_.dir));
    flushed_ += staging_->size();
    filled_ = 0;
    return {};
}

result<void> stream_spill::fall_back_to_buffered(int err) {
    spdlog::warn("spill file in {}: O_DIRECT failed ({}); using buffered I/O from now on", quoted(opts_.dir),
                 std::generic_category().message(err));
    const int flags = ::fcntl(fd_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags & ~O_DIRECT) != 0) {
        return errno_error(errno, "turning O_DIRECT off on the spill file in " + quoted(opts_.dir));
    }
    direct_ = false;
    if (filled_ > 0) {
        if (const int e = pwrite_full(fd_.get(), staging_->data(), filled_, flushed_); e != 0) {
            return errno_error(e, "writing the spill file in " + quoted(opts_.dir));
        }
        flushed_ += filled_;
        filled_ = 0;
    }
    staging_.reset();
    bounce_.reset();
    return {};
}

result<void> stream_spill::read(std::uint64_t at, std::span<std::byte> out) {
    if (out.empty()) return {};
    auto it = live_.upper_bound(at);
    if (it == live_.begin() || std::prev(it)->first + std::prev(it)->second < at + out.size()) {
        return make_error(errc::io, "spill file read of bytes not held, at " + std::to_string(at));
    }
    // Bytes still in the staging buffer come from memory; the rest from the file.
    if (at + out.size() > flushed_) {
        const std::uint64_t from = std::max(at, flushed_);
        std::memcpy(out.data() + (from - at), staging_->data() + (from - flushed_), static_cast<std::size_t>(at + out.size() - from));
        if (from == at) return {};
        out = out.first(static_cast<std::size_t>(from - at));
    }
    return read_at(at, out);
}

result<void> stream_spill::read_at(std::uint64_t at, std::span<std::byte> out) {
    while (direct_ && !out.empty()) {
        // O_DIRECT reads whole aligned blocks into aligned memory: through the bounce buffer. Below
        // flushed_ (a multiple of the block), so the rounded-up end is still in the file.
        if (!bounce_) bounce_.emplace(buffer_size);
        const std::uint64_t lo = floor_block(at);
        const std::uint64_t hi = std::min(ceil_block(at + out.size()), lo + bounce_->size());
        const int err = pread_full(fd_.get(), bounce_->data(), static_cast<std::size_t>(hi - lo), lo);
        if (err == EINVAL) {
            if (auto r = fall_back_to_buffered(err); !r) return r;
            break;
        }
        if (err != 0) return errno_error(err, "reading the spill file in " + quoted(opts_.dir));
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(hi - at, out.size()));
        std::memcpy(out.data(), bounce_->data() + (at - lo), n);
        out = out.subspan(n);
        at += n;
    }
    if (out.empty()) return {};
    if (const int err = pread_full(fd_.get(), out.data(), out.size(), at); err != 0) {
        return errno_error(err, "reading the spill file in " + quoted(opts_.dir));
    }
    return {};
}

void stream_spill::release(std::uint64_t at, std::uint64_t len) {
    const std::uint64_t end = at + len;
    auto it = live_.upper_bound(at);
    if (it != live_.begin() && std::prev(it)->first + std::prev(it)->second > at) --it;
    while (it != live_.end() && it->first < end) {
        const std::uint64_t run_at = it->first, run_end = it->first + it->second;
        const std::uint64_t lo = std::max(run_at, at), hi = std::min(run_end, end);
        in_use_ -= hi - lo;
        it = live_.erase(it);
        if (run_at < lo) live_.emplace_hint(it, run_at, lo - run_at);
        if (hi < run_end) it = std::next(live_.emplace_hint(it, hi, run_end - hi));
    }
    if (live_.empty()) {
        // Nothing in use: the whole file goes, and appends start again at 0.
        if (fd_ && ::ftruncate(fd_.get(), 0) == 0) {
            end_ = flushed_ = 0;
            filled_ = 0;
        }
        return;
    }
    punch(at, len);
}

void stream_spill::punch(std::uint64_t at, std::uint64_t len) {
    if (!punch_ || !fd_) return;
    // The free stretch around [at, at + len): from the end of the run in use before it to the start
    // of the one after it (or the end of what is in the file).
    auto next = live_.lower_bound(at + len);
    const std::uint64_t free_hi = next == live_.end() ? flushed_ : std::min(next->first, flushed_);
    std::uint64_t free_lo = 0;
    if (next != live_.begin()) free_lo = std::prev(next)->first + std::prev(next)->second;
    const std::uint64_t lo = std::max(floor_block(at), ceil_block(free_lo));
    const std::uint64_t hi = std::min(ceil_block(at + len), floor_block(free_hi));
    if (lo >= hi) return;
    if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(lo), static_cast<off_t>(hi - lo)) != 0) {
        // Refused here (EOPNOTSUPP) or failed: from now on the file's length is what counts.
        punch_ = false;
        peak_ = std::max(peak_, charged());
    }
}

void stream_spill::clear() noexcept {
    fd_.reset();
    live_.clear();
    staging_.reset();
    bounce_.reset();
    in_use_ = end_ = flushed_ = 0;
    filled_ = 0;
    punch_ = true;
}

std::uint64_t stream_spill::allocated_bytes() const noexcept {
    struct stat st {};
    if (!fd_ || ::fstat(fd_.get(), &st) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

}  // namespace cdi
