#pragma once
// Who gets a slot of the progress endpoint when all are taken (issue 19.3). Idle connections that
// never start TLS, or stall in the middle of a handshake or request, must not keep the controller's
// scrape out: a newcomer takes the slot of the oldest connection that has sent nothing at all, else
// of the connection whose current exchange (handshake, or one request) has lasted longest, once
// that is at least the stall grace (a real scrape's exchange takes milliseconds). Only when every
// slot is busy with a young exchange is the newcomer refused. Pure: no clock, no sockets.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace cdi {

struct metrics_slot {
    std::uint64_t id = 0;
    bool heard_from = false;  // has sent at least one byte
    // When its current exchange began: the accept while silent, then the handshake's first byte,
    // then the start of each request (idle keep-alive time counts as part of the next request).
    std::chrono::steady_clock::time_point since{};
};

struct metrics_admission {
    bool admit = false;
    std::optional<std::uint64_t> evict;  // the slot to close to make room
};

// slots: the connections being served (none already being closed); capacity: max_connections.
metrics_admission admit_newcomer(std::span<const metrics_slot> slots, std::size_t capacity,
                                 std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration stall_grace);

}  // namespace cdi
