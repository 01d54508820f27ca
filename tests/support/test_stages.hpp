#pragma once
// Test doubles for the data-path contracts: in-memory sources with chosen read sizes and injected
// faults, and a sink that records what it was asked to do. Used by every stage test.
#include "cdi/progress.hpp"
#include "cdi/sink.hpp"
#include "cdi/source.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace cdi::test {

using bytes = std::vector<std::byte>;

inline bytes to_bytes(std::string_view s) {
    bytes b(s.size());
    if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());  // memcpy with a null pointer is UB even for 0 bytes
    return b;
}

inline bytes random_bytes(std::size_t n, std::uint32_t seed = 1) {
    std::mt19937 gen(seed);
    bytes b(n);
    for (auto& x : b) x = static_cast<std::byte>(gen() & 0xff);
    return b;
}

// Serves data in reads of at most chunk bytes; fails the fail_at-th read (1-based) with errc::io.
class scripted_source final : public source {
public:
    explicit scripted_source(bytes data, std::size_t chunk = SIZE_MAX, std::size_t fail_at = 0)
        : data_(std::move(data)), chunk_(chunk), fail_at_(fail_at) {}

    result<std::size_t> read(std::span<std::byte> buf) override {
        ++reads_;
        if (fail_at_ != 0 && reads_ == fail_at_) return make_error(errc::io, "injected read fault");
        std::size_t n = std::min({buf.size(), chunk_, data_.size() - pos_});
        if (n > 0) std::memcpy(buf.data(), data_.data() + pos_, n);
        pos_ += n;
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return data_.size(); }
    std::size_t reads() const { return reads_; }

private:
    bytes data_;
    std::size_t pos_ = 0;
    std::size_t chunk_;
    std::size_t fail_at_;
    std::size_t reads_ = 0;
};

// Drains a source with a read buffer of buf_size bytes.
inline result<bytes> drain(source& src, std::size_t buf_size = 64 * 1024) {
    bytes out;
    bytes buf(buf_size);
    for (;;) {
        auto n = src.read(buf);
        if (!n) return n.error();
        if (*n == 0) return out;
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
}

// Delegates to a source and cancels the token at its after-th read (1-based).
class canceling_source final : public source {
public:
    canceling_source(source& inner, cancel_token& token, std::size_t after) : inner_(inner), token_(token), after_(after) {}
    result<std::size_t> read(std::span<std::byte> buf) override {
        if (++reads_ == after_) token_.cancel();
        return inner_.read(buf);
    }

private:
    source& inner_;
    cancel_token& token_;
    std::size_t after_;
    std::size_t reads_ = 0;
};

// Serves `prefix`, then blocks its next read (an origin that stalls) until interrupt(), which fails
// it with errc::canceled. wait_stalled() returns once a read is blocked.
class stalling_source final : public source {
public:
    explicit stalling_source(bytes prefix) : prefix_(std::move(prefix)) {}
    result<std::size_t> read(std::span<std::byte> buf) override {
        if (at_ < prefix_.size()) {
            const std::size_t n = std::min(buf.size(), prefix_.size() - at_);
            std::memcpy(buf.data(), prefix_.data() + at_, n);
            at_ += n;
            return n;
        }
        std::unique_lock lock(mutex_);
        stalled_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return interrupted_; });
        return make_error(errc::canceled, "interrupted");
    }
    void interrupt() noexcept override {
        {
            std::lock_guard lock(mutex_);
            interrupted_ = true;
        }
        changed_.notify_all();
    }
    void wait_stalled() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stalled_; });
    }

private:
    bytes prefix_;
    std::size_t at_ = 0;
    std::mutex mutex_;
    std::condition_variable changed_;
    bool stalled_ = false;
    bool interrupted_ = false;
};

// No data at all (scripted_source({}) would memcpy from a null pointer).
class empty_source final : public source {
public:
    result<std::size_t> read(std::span<std::byte>) override { return std::size_t{0}; }
};

// Records appended data and zero runs in memory; fails the fail_at-th call (1-based) with errc::io.
class recording_sink final : public sink {
public:
    explicit recording_sink(std::size_t fail_at = 0, std::optional<std::uint64_t> cap = std::nullopt)
        : fail_at_(fail_at), cap_(cap) {}

    result<void> write(std::span<const std::byte> d) override {
        if (auto e = tick()) return *e;
        if (cap_ && data_.size() + d.size() > *cap_) return make_error(errc::too_large, "recording sink full");
        data_.insert(data_.end(), d.begin(), d.end());
        ++writes_;
        return {};
    }
    result<void> zero(std::uint64_t len) override {
        if (auto e = tick()) return *e;
        if (cap_ && data_.size() + len > *cap_) return make_error(errc::too_large, "recording sink full");
        data_.resize(data_.size() + len);
        zeroed_ += len;
        return {};
    }
    result<void> flush() override {
        if (auto e = tick()) return *e;
        ++flushes_;
        return {};
    }
    std::uint64_t offset() const override { return data_.size(); }
    std::optional<std::uint64_t> capacity() const override { return cap_; }

    const bytes& data() const { return data_; }
    std::uint64_t zeroed() const { return zeroed_; }
    std::size_t writes() const { return writes_; }
    std::size_t flushes() const { return flushes_; }

private:
    std::optional<error> tick() {
        if (fail_at_ != 0 && ++calls_ == fail_at_) return make_error(errc::io, "injected sink fault");
        return std::nullopt;
    }
    bytes data_;
    std::size_t fail_at_;
    std::size_t calls_ = 0;
    std::optional<std::uint64_t> cap_;
    std::uint64_t zeroed_ = 0;
    std::size_t writes_ = 0;
    std::size_t flushes_ = 0;
};

}  // namespace cdi::test
