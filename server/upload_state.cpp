#include "server/upload_state.hpp"

namespace cdi {

upload_state::admit upload_state::begin() {
    std::lock_guard lock(mutex_);
    switch (state_) {
    case state::uploading:
    case state::processing: return admit::busy;
    case state::done: return admit::done;
    case state::idle: break;
    }
    state_ = state::uploading;
    return admit::ok;
}

void upload_state::fail() {
    std::lock_guard lock(mutex_);
    if (state_ == state::uploading) state_ = state::idle;
}

void upload_state::pause() {
    std::lock_guard lock(mutex_);
    if (state_ == state::uploading) state_ = state::processing;
}

void upload_state::succeed(bool preallocation_applied, bool clone_target) {
    std::lock_guard lock(mutex_);
    if (state_ == state::uploading || state_ == state::processing) {
        state_ = state::done;
        preallocation_applied_ = preallocation_applied;
        clone_target_ = clone_target;
    }
}

bool upload_state::idle() const {
    std::lock_guard lock(mutex_);
    return state_ == state::idle;
}

upload_state::state upload_state::current() const {
    std::lock_guard lock(mutex_);
    return state_;
}

bool upload_state::preallocation_applied() const {
    std::lock_guard lock(mutex_);
    return preallocation_applied_;
}

bool upload_state::clone_target() const {
    std::lock_guard lock(mutex_);
    return clone_target_;
}

}  // namespace cdi
