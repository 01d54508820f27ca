#pragma once
// SIGTERM / SIGINT handling for a one-job process. Construct it first in main(), before any other
// thread starts: it blocks the signals in every thread and waits for them on its own thread. A
// signal cancels the job (the worker unwinds and RAII removes staged files and partial targets);
// if the job has not ended within the grace period, staged scratch files are removed directly and
// the process exits 1.
#include "cdi/progress.hpp"

#include <chrono>
#include <thread>

namespace cdi {

class signal_watcher {
public:
    signal_watcher(cancel_token& cancel, std::chrono::seconds grace);
    signal_watcher(const signal_watcher&) = delete;
    signal_watcher& operator=(const signal_watcher&) = delete;
    ~signal_watcher();

private:
    cancel_token& cancel_;
    std::chrono::seconds grace_;
    std::jthread thread_;
};

}  // namespace cdi
