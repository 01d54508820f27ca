#pragma once
// The upload server's request state machine (contract 6.4), under one mutex:
//   idle --begin--> uploading --succeed--> done            (sync)
//                   uploading --fail-----> idle            (the client may retry on the same pod)
//                   uploading --pause----> processing --succeed--> done       (async: 200 sent)
// There is no failed state: fail() only undoes "uploading"; an async upload that fails in the
// background (processing) ends the process with exit 1 (upload_server::fail), the state unchanged.
// begin() answers whether a new upload may start: busy (503) while uploading or processing,
// done (409) after success.
#include <mutex>

namespace cdi {

class upload_state {
public:
    enum class state { idle, uploading, processing, done };
    enum class admit { ok, busy, done };

    admit begin();
    void fail();                                      // uploading → idle
    void pause();                                     // uploading → processing (async: 200 sent)
    // uploading or processing → done; clone_target: the upload was a host-assisted clone (its
    // termination message says "Clone Complete").
    void succeed(bool preallocation_applied, bool clone_target = false);
    bool idle() const;
    state current() const;
    bool preallocation_applied() const;
    bool clone_target() const;

private:
    mutable std::mutex mutex_;
    state state_ = state::idle;
    bool preallocation_applied_ = false;
    bool clone_target_ = false;
};

}  // namespace cdi
