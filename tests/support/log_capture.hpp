#pragma once
// Routes spdlog's default logger into a ring buffer for the capture's life, so a test can pin what
// goes to the log (and, by contrast with an error's text, what does not). Lines are read under the
// sink's lock, so a test may wait for a line another thread logs. Every test links the compiled
// spdlog (cdi_test_support), so this is the libraries' registry, not a header-only copy's.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cdi::test {

class log_capture {
public:
    // pattern: spdlog's, e.g. "%v" for the message alone; empty keeps spdlog's default.
    explicit log_capture(const std::string& pattern = {}) : previous_(spdlog::default_logger()) {
        auto logger = std::make_shared<spdlog::logger>("test", sink_);
        if (!pattern.empty()) logger->set_pattern(pattern);
        spdlog::set_default_logger(logger);
    }
    ~log_capture() { spdlog::set_default_logger(previous_); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    std::vector<std::string> lines() const { return sink_->last_formatted(); }
    // Waits (up to 10 s: the machine may be busy) until at least n lines were logged.
    std::vector<std::string> wait_for_lines(std::size_t n) const {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (lines().size() < n && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return lines();
    }
    std::string text() const {
        std::string all;
        for (const auto& line : sink_->last_formatted()) all += line;
        return all;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace cdi::test
