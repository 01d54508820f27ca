#pragma once
// Runs a system call again while it fails with EINTR: its result otherwise (a value below 0 leaves
// errno set). The one such loop of the convert/ writers.
#include <cerrno>

namespace cdi {

template <class F>
auto no_eintr(F f) {
    decltype(f()) rc;
    do {
        rc = f();
    } while (rc < 0 && errno == EINTR);
    return rc;
}

}  // namespace cdi
