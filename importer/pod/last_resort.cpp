#include "importer/pod/last_resort.hpp"

#include "importer/pod/termination_message.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>

namespace cdi::last_resort {
namespace {

namespace fs = std::filesystem;

struct state {
    std::mutex mutex;
    fs::path termination_log;
    std::optional<job_spec> spec;
};

state& the_state() {
    static state s;
    return s;
}

fs::path default_termination_log() {
    const char* p = std::getenv("CDI_TERMINATION_LOG");
    return p && *p ? fs::path(p) : fs::path("/dev/termination-log");
}

// Reports once (a second exception while reporting, or another thread's, ends with the first report).
void report(std::exception_ptr e) noexcept {
    static std::once_flag once;
    std::call_once(once, [&] {
        try {
            const std::string text = "Unable to process data: " + describe(e);
            auto& s = the_state();
            std::lock_guard lock(s.mutex);
            spdlog::critical("{}", text);
            if (s.spec) remove_target(*s.spec);
            if (auto r = write_termination_file(s.termination_log.empty() ? default_termination_log() : s.termination_log, text); !r)
                spdlog::error("{}", r.error().message());
            spdlog::shutdown();
        } catch (...) {
        }
    });
}

[[noreturn]] void on_terminate() noexcept {
    report(std::current_exception());
    std::_Exit(1);
}

}  // namespace

std::string describe(std::exception_ptr e) {
    errc code = errc::io;
    std::string what = "terminated without an exception";
    if (e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::system_error& se) {
            if (se.code().category() == error_category()) code = static_cast<errc>(se.code().value());
            what = se.what();
        } catch (const std::exception& ex) {
            what = ex.what();
        } catch (...) {
            what = "an exception of unknown type";
        }
    }
    if (what.size() > 256) what.resize(256);
    return std::string(class_token(code)) + ": unexpected failure: " + what;
}

void remove_target(const job_spec& spec) noexcept {
    std::error_code ec;
    if (spec.content == content_type::archive) return;  // which entries are ours is not known here
    if (!spec.target.empty() && fs::is_regular_file(fs::symlink_status(spec.target, ec))) fs::remove(spec.target, ec);
}

void install() { std::set_terminate(on_terminate); }

void configure(fs::path termination_log, job_spec spec) {
    auto& s = the_state();
    std::lock_guard lock(s.mutex);
    s.termination_log = std::move(termination_log);
    s.spec = std::move(spec);
}

int run(const std::function<int()>& body) {
    install();
    try {
        return body();
    } catch (...) {
        report(std::current_exception());
        return 1;
    }
}

}  // namespace cdi::last_resort
