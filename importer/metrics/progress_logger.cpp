#include "importer/metrics/progress_logger.hpp"

#include <spdlog/spdlog.h>

#include <cmath>

namespace cdi {

progress_logger::progress_logger(const progress& prog, std::chrono::milliseconds interval)
    : progress_(prog), interval_(interval), thread_([this](std::stop_token st) { run(st); }) {}

progress_logger::~progress_logger() {
    thread_.request_stop();
    wake_.notify_all();
}

void progress_logger::run(std::stop_token stop) {
    phase last_phase = phase::info;
    double last_pct = -1.0;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, stop, interval_, [] { return false; });  // wakes at the interval or on stop
        if (stop.stop_requested()) return;
        const phase p = progress_.current_phase();
        const double pct = std::floor(progress_.percent() * 100.0) / 100.0;
        if (p == last_phase && pct == last_pct) continue;
        spdlog::info("{}: {:.2f}% ({} bytes received)", phase_name(p), pct, progress_.wire_bytes());
        last_phase = p;
        last_pct = pct;
    }
}

}  // namespace cdi
