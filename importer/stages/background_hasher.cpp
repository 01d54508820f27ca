#include "importer/stages/background_hasher.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

struct background_hasher::shared {
    shared(hasher h, std::size_t slots, std::size_t bytes) : digest(std::move(h)), slot_count(slots), slot_size(bytes) {}

    // A slot the thread may take: full, or followed by another. The last one, still filling, waits
    // (so the thread wakes once per slot, not once per read of the caller).
    bool ready() const { return !queue.empty() && (queue.size() > 1 || queue.front().second == slot_size); }

    // The thread's loop: hash each queued slot, in order, until stopped with nothing left.
    void run() {
        std::unique_lock lock(mutex);
        for (;;) {
            changed.wait(lock, [&] { return stopping || ready(); });
            if (discarding || queue.empty()) return;  // stopping, and everything queued is hashed (or dropped)
            const auto [slot, len] = queue.front();
            queue.pop_front();  // taken: update() no longer appends to it
            lock.unlock();
            auto r = failed ? result<void>{} : digest.update(std::span<const std::byte>(buffers[slot].data(), len));
            lock.lock();
            free.push_back(slot);
            if (!r && !failed) failed = r.error();
            changed.notify_all();
        }
    }

    hasher digest;  // touched by the thread only while it runs, by the caller only after join
    std::size_t slot_count;
    std::size_t slot_size;
    std::vector<std::vector<std::byte>> buffers;
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::pair<std::size_t, std::size_t>> queue;  // (slot, bytes) in update order
    std::vector<std::size_t> free;
    std::optional<error> failed;
    bool stopping = false;
    bool discarding = false;  // the destructor's stop: what is queued is not hashed
};

result<background_hasher> background_hasher::create(checksum_algorithm algorithm, std::size_t slots, std::size_t slot_size) {
    auto h = hasher::create(algorithm);
    if (!h) return h.error();
    return background_hasher(std::make_unique<shared>(std::move(*h), std::max<std::size_t>(slots, 1),
                                                      std::max<std::size_t>(slot_size, 1)));
}

background_hasher::background_hasher(std::unique_ptr<shared> s) noexcept : s_(std::move(s)) {}

background_hasher::background_hasher(background_hasher&& other) noexcept
    : s_(std::move(other.s_)), thread_(std::move(other.thread_)) {}

background_hasher::~background_hasher() { stop(true); }

void background_hasher::start() {
    s_->buffers.resize(s_->slot_count);
    for (std::size_t i = 0; i < s_->slot_count; ++i) {
        s_->buffers[i].resize(s_->slot_size);
        s_->free.push_back(i);
    }
    thread_ = std::thread([s = s_.get()] { s->run(); });
}

void background_hasher::stop(bool discard) noexcept {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(s_->mutex);
        s_->stopping = true;
        s_->discarding = discard;
    }
    s_->changed.notify_all();
    thread_.join();
}

result<void> background_hasher::update(std::span<const std::byte> data) {
    if (data.empty()) return {};
    if (!thread_.joinable()) {
        if (s_->stopping) return make_error(errc::checksum, "the digest was already finished");
        start();
    }
    while (!data.empty()) {
        std::unique_lock lock(s_->mutex);
        if (s_->failed) return *s_->failed;
        // The last queued slot, not yet taken by the thread, takes what fits: the thread gets whole
        // slots whatever the caller's read size (a socket's reads are often 64 KiB or less).
        if (!s_->queue.empty()) {
            auto& [slot, len] = s_->queue.back();
            const std::size_t n = std::min(data.size(), s_->slot_size - len);
            if (n > 0) {
                std::memcpy(s_->buffers[slot].data() + len, data.data(), n);
                len += n;
                data = data.subspan(n);
                if (len == s_->slot_size) {
                    lock.unlock();
                    s_->changed.notify_all();
                }
                continue;
            }
        }
        s_->changed.wait(lock, [&] { return s_->failed || !s_->free.empty(); });
        if (s_->failed) return *s_->failed;
        const std::size_t slot = s_->free.back();
        s_->free.pop_back();
        const std::size_t n = std::min(data.size(), s_->slot_size);
        std::memcpy(s_->buffers[slot].data(), data.data(), n);
        s_->queue.emplace_back(slot, n);
        const bool wake = s_->ready();
        lock.unlock();
        if (wake) s_->changed.notify_all();
        data = data.subspan(n);
    }
    return {};
}

result<std::string> background_hasher::finish_hex() {
    stop(false);  // hashes what is queued, then the thread ends
    s_->stopping = true;
    if (s_->failed) return *s_->failed;
    return s_->digest.finish_hex();
}

}  // namespace cdi
