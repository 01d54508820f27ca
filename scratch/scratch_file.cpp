#include "scratch/scratch_file.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace cdi {

namespace {

// Slot states. A signal handler reads a path only in state live; a thread writes it only while it
// holds the slot in state writing, so the handler never sees a half-written path.
enum : int { slot_free = 0, slot_writing = 1, slot_live = 2 };

struct registry_slot {
    std::atomic<int> state{slot_free};
    char path[PATH_MAX] = {};
};

static_assert(std::atomic<int>::is_always_lock_free, "the registry must be usable from a signal handler");

std::array<registry_slot, scratch_file::max_registered> registry;

int register_path(const std::filesystem::path& p) noexcept {
    const std::string& s = p.native();
    if (s.size() >= PATH_MAX) return -1;
    for (std::size_t i = 0; i < registry.size(); ++i) {
        int expected = slot_free;
        if (!registry[i].state.compare_exchange_strong(expected, slot_writing, std::memory_order_acquire)) continue;
        std::memcpy(registry[i].path, s.c_str(), s.size() + 1);
        registry[i].state.store(slot_live, std::memory_order_release);
        return static_cast<int>(i);
    }
    return -1;
}

void unregister_slot(int slot) noexcept {
    auto& r = registry[static_cast<std::size_t>(slot)];
    r.state.store(slot_writing, std::memory_order_relaxed);
    r.path[0] = '\0';
    r.state.store(slot_free, std::memory_order_release);
}

}  // namespace

result<scratch_file> scratch_file::adopt(std::filesystem::path path) {
    if (path.native().size() >= PATH_MAX) return make_error(errc::io, "scratch file path too long: " + path.string());
    const int slot = register_path(path);
    if (slot < 0) {
        return make_error(errc::io, "cannot stage " + path.string() + ": more than " + std::to_string(max_registered) +
                                        " scratch files live");
    }
    return scratch_file(std::move(path), slot);
}

scratch_file::scratch_file(scratch_file&& o) noexcept : path_(std::move(o.path_)), slot_(std::exchange(o.slot_, -1)) {}

scratch_file& scratch_file::operator=(scratch_file&& o) noexcept {
    if (this != &o) {
        release();
        path_ = std::move(o.path_);
        slot_ = std::exchange(o.slot_, -1);
    }
    return *this;
}

scratch_file::~scratch_file() {
    release();
}

void scratch_file::release() noexcept {
    if (slot_ < 0) return;
    // Unlink before unregistering: a SIGTERM in between then unlinks again (ENOENT, harmless)
    // instead of leaving the file behind.
    (void)::unlink(path_.c_str());
    unregister_slot(slot_);
    slot_ = -1;
}

void scratch_file::remove_all_registered() noexcept {
    for (auto& r : registry) {
        if (r.state.load(std::memory_order_acquire) == slot_live) (void)::unlink(r.path);
    }
}

}  // namespace cdi
