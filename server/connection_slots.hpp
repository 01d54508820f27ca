#pragma once
// How many connections the upload server holds, and which one goes when a new one needs room
// (issue 12.3): pure policy, no I/O (server/connection_gate does the closing).
//
// A connection is first `waiting` (accepted, no byte yet: it costs a descriptor and a few hundred
// bytes), then `tls` once its first byte arrived and it gets TLS state (an SSL object and the
// stream's record buffers, ~80 KiB), and `authenticated` once its handshake verified the upload
// client's certificate. Two caps:
//   - max_connections on all of them: a new connection over it evicts the oldest unauthenticated
//     one (waiting or tls), or is refused when every held connection is authenticated;
//   - max_tls on those with TLS state: a connection that needs TLS state over it evicts the oldest
//     unauthenticated one with TLS state, or is refused.
// Oldest means accepted first: a flood of new connections pushes out the flood's own earlier ones,
// and the newest (the real client that just connected) is the last to go. Authenticated connections
// (the upload proxy, the clone source) are never evicted.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>

namespace cdi {

class connection_slots {
public:
    using id = std::uint64_t;
    struct limits {
        std::size_t max_connections = 1024;
        // Above the 256 slowloris connections security.md A11 expects to be served to their header
        // timeout; ~20 MiB of TLS state at most.
        std::size_t max_tls = 288;
    };
    struct decision {
        bool admitted = false;
        std::optional<id> evict;  // to be closed now; already released here
    };

    explicit connection_slots(limits l) : limits_(l) {}

    // A newly accepted connection; `admitted` with its id in `opened`.
    decision open(id& opened);
    // The connection's first byte arrived: it wants TLS state.
    decision start_tls(id c);
    // Its handshake verified the client: never evicted from now on.
    void authenticate(id c);
    // The connection ended (or was evicted); unknown ids are ignored.
    void close(id c);

    bool holds(id c) const { return state_.count(c) != 0; }
    std::size_t connections() const { return state_.size(); }
    std::size_t tls() const { return tls_count_; }
    const limits& caps() const { return limits_; }

private:
    enum class stage { waiting, tls, authenticated };
    std::optional<id> oldest_unauthenticated() const;

    limits limits_;
    id next_ = 1;
    std::unordered_map<id, stage> state_;
    std::set<id> waiting_;        // ordered: begin() is the oldest
    std::set<id> unauth_tls_;
    std::size_t tls_count_ = 0;  // tls + authenticated
};

}  // namespace cdi
