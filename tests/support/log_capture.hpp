#pragma once
// Routes spdlog's default logger into a ring buffer for the capture's life, so a test can pin what
// goes to the log (and, by contrast with an error's text, what does not). The test target must link
// spdlog::spdlog (tests/CMakeLists.txt), or it captures a header-only copy's registry, not the libraries'.
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace cdi::test {

class log_capture {
public:
    log_capture() : previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
    }
    ~log_capture() { spdlog::set_default_logger(previous_); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
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
