#include "convert/overlapped_copy.hpp"

#include "convert/raw_copy.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

namespace cdi {
namespace {

// The two buffers and who holds them. A slot is "full" from the reader's hand-over until the writer
// has written it; the reader only fills empty slots, the writer only writes full ones, in turn.
class handoff {
public:
    explicit handoff(std::array<std::span<std::byte>, 2> slots) : slots_(slots) {}

    std::span<std::byte> slot(int i) const { return slots_[static_cast<std::size_t>(i)]; }

    // Reader: waits until slot i may be filled; false when the writer failed.
    bool wait_empty(int i) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return !full_[i] || write_error_; });
        return !write_error_;
    }
    void fill(int i, std::size_t n) {
        {
            std::lock_guard lock(m_);
            len_[i] = n;
            full_[i] = true;
        }
        cv_.notify_all();
    }
    // Reader: no more chunks (the end, or the reader's own error: then abandon the full slots).
    void finish(bool abandon) {
        {
            std::lock_guard lock(m_);
            end_ = true;
            abandon_ = abandon;
        }
        cv_.notify_all();
    }

    // Writer: the length of slot j once full, or nullopt when there is nothing more to write.
    std::optional<std::size_t> wait_full(int j) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return full_[j] || end_; });
        if (abandon_ || !full_[j]) return std::nullopt;
        return len_[j];
    }
    void written(int j, std::optional<error> failure) {
        {
            std::lock_guard lock(m_);
            full_[j] = false;
            if (failure) write_error_ = std::move(failure);
        }
        cv_.notify_all();
    }
    std::optional<error> write_error() {
        std::lock_guard lock(m_);
        return write_error_;
    }

private:
    std::array<std::span<std::byte>, 2> slots_;
    std::mutex m_;
    std::condition_variable cv_;
    std::size_t len_[2] = {0, 0};
    bool full_[2] = {false, false};
    bool end_ = false;
    bool abandon_ = false;
    std::optional<error> write_error_;
};

void write_chunks(handoff& h, sink& dst) {
    for (int j = 0;; j ^= 1) {
        auto n = h.wait_full(j);
        if (!n) return;
        auto w = dst.write(h.slot(j).first(*n));
        h.written(j, w ? std::nullopt : std::optional<error>(w.error()));
        if (!w) return;
    }
}

}  // namespace

result<std::uint64_t> overlapped_copy(source& src, sink& dst, std::span<std::byte> first, std::span<std::byte> second,
                                      const cancel_token* cancel) {
    if (first.empty() || first.size() != second.size()) return make_error(errc::bad_request, "copy buffers are empty or differ in size");
    handoff h({first, second});
    std::thread writer;
    try {
        writer = std::thread([&h, &dst] { write_chunks(h, dst); });
    } catch (const std::system_error& e) {
        spdlog::warn("no writer thread ({}); copying without overlap", e.what());
        return raw_copy(src, dst, first, cancel);
    }

    std::uint64_t total = 0;
    std::optional<error> read_error;
    for (int i = 0;; i ^= 1) {
        if (cancel && cancel->canceled()) {
            read_error = make_error(errc::canceled, "copy canceled after " + std::to_string(total) + " bytes");
            break;
        }
        if (!h.wait_empty(i)) break;
        auto n = read_full(src, h.slot(i));
        if (!n) {
            read_error = n.error();
            break;
        }
        if (*n == 0) break;
        h.fill(i, *n);
        total += *n;
        if (*n < h.slot(i).size()) break;  // read_full stops short only at the end of data
    }
    h.finish(read_error.has_value());
    writer.join();
    if (auto w = h.write_error()) return *w;
    if (read_error) return *read_error;
    return total;
}

}  // namespace cdi
