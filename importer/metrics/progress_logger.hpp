#pragma once
// Logs the job's phase and progress on stderr while it runs (klog lines the pod log shows), every
// interval, only when something changed. Owns its thread; the destructor stops and joins it.
#include "cdi/progress.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace cdi {

class progress_logger {
public:
    progress_logger(const progress& prog, std::chrono::milliseconds interval);
    progress_logger(const progress_logger&) = delete;
    progress_logger& operator=(const progress_logger&) = delete;
    ~progress_logger();

private:
    void run(std::stop_token stop);

    const progress& progress_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable_any wake_;
    std::jthread thread_;  // last: started after the members it uses
};

}  // namespace cdi
