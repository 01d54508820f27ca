#include "importer/metrics/metrics_slot_policy.hpp"

namespace cdi {

metrics_admission admit_newcomer(std::span<const metrics_slot> slots, std::size_t capacity,
                                 std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration stall_grace) {
    if (slots.size() < capacity) return {.admit = true, .evict = std::nullopt};
    const metrics_slot* silent = nullptr;   // the oldest that has sent nothing
    const metrics_slot* stalled = nullptr;  // the longest-running exchange
    for (const auto& s : slots) {
        if (!s.heard_from) {
            if (silent == nullptr || s.since < silent->since) silent = &s;
        } else if (stalled == nullptr || s.since < stalled->since) {
            stalled = &s;
        }
    }
    if (silent != nullptr) return {.admit = true, .evict = silent->id};
    if (stalled != nullptr && now - stalled->since >= stall_grace) return {.admit = true, .evict = stalled->id};
    return {.admit = false, .evict = std::nullopt};
}

}  // namespace cdi
