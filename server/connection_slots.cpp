#include "server/connection_slots.hpp"

namespace cdi {

std::optional<connection_slots::id> connection_slots::oldest_unauthenticated() const {
    std::optional<id> w, t;
    if (!waiting_.empty()) w = *waiting_.begin();
    if (!unauth_tls_.empty()) t = *unauth_tls_.begin();
    if (w && t) return *w < *t ? w : t;
    return w ? w : t;
}

connection_slots::decision connection_slots::open(id& opened) {
    decision d;
    if (state_.size() >= limits_.max_connections) {
        d.evict = oldest_unauthenticated();
        if (!d.evict) return d;
        close(*d.evict);
    }
    opened = next_++;
    state_.emplace(opened, stage::waiting);
    waiting_.insert(opened);
    d.admitted = true;
    return d;
}

connection_slots::decision connection_slots::start_tls(id c) {
    decision d;
    auto it = state_.find(c);
    if (it == state_.end()) return d;
    if (it->second != stage::waiting) {
        d.admitted = true;
        return d;
    }
    if (tls_count_ >= limits_.max_tls) {
        if (unauth_tls_.empty()) return d;
        d.evict = *unauth_tls_.begin();
        close(*d.evict);
    }
    waiting_.erase(c);
    it->second = stage::tls;
    unauth_tls_.insert(c);
    ++tls_count_;
    d.admitted = true;
    return d;
}

void connection_slots::authenticate(id c) {
    auto it = state_.find(c);
    if (it == state_.end() || it->second != stage::tls) return;
    unauth_tls_.erase(c);
    it->second = stage::authenticated;
}

void connection_slots::close(id c) {
    auto it = state_.find(c);
    if (it == state_.end()) return;
    if (it->second == stage::waiting) waiting_.erase(c);
    else --tls_count_;
    if (it->second == stage::tls) unauth_tls_.erase(c);
    state_.erase(it);
}

}  // namespace cdi
