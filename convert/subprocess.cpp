#include "convert/subprocess.hpp"

#include "convert/subprocess_spawn.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace cdi {

namespace {

using subprocess_detail::spawn;
using subprocess_detail::started_child;
using clock_type = std::chrono::steady_clock;

// A partial stdout line longer than this is passed on as a line of its own (bounds memory).
constexpr std::size_t max_line = 64 * 1024;

// After the child exits, how long to keep draining pipes a straggler outside the group may hold.
constexpr std::chrono::milliseconds drain_limit{2000};

std::string program_name(const std::string& argv0) {
    auto slash = argv0.rfind('/');
    return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

// Splits stdout into lines on '\r' and '\n' and keeps its bounded head.
class stdout_collector {
public:
    stdout_collector(subprocess_result& r, const std::function<void(std::string_view)>& cb) : r_(r), cb_(cb) {}
    void feed(std::string_view data) {
        const std::size_t room =
            subprocess_result::stdout_limit - std::min(r_.stdout_text.size(), subprocess_result::stdout_limit);
        r_.stdout_text.append(data.substr(0, room));
        if (data.size() > room) r_.stdout_truncated = true;
        if (!cb_) return;
        for (char c : data) {
            if (c == '\r' || c == '\n') {
                flush();
            } else {
                line_.push_back(c);
                if (line_.size() >= max_line) flush();
            }
        }
    }
    void flush() {
        if (!line_.empty() && cb_) cb_(line_);
        line_.clear();
    }

private:
    subprocess_result& r_;
    const std::function<void(std::string_view)>& cb_;
    std::string line_;
};

// Keeps the last `limit` bytes of stderr.
void append_tail(std::string& s, std::string_view data, std::size_t limit) {
    s.append(data);
    if (s.size() > 2 * limit + 4096) s.erase(0, s.size() - limit);
}

// ---- the watch loop: output, watchdogs, cancellation, reaping ----

// Reads a started child's stdout and stderr until both pipes close and the child has exited. Until
// the exit, the cancel token and the timeouts are checked at least every 100 ms and end the run
// (group killed). Once the leader exits its group is killed, the pipes drained for at most
// drain_limit, and the child reaped.
class watcher {
public:
    watcher(started_child& child, const std::string& name, const subprocess_options& opts)
        : child_(child), name_(name), opts_(opts), collector_(res_, opts.on_stdout_line) {}

    result<subprocess_result> run() {
        while (out_open_ || err_open_ || !exited_at_) {
            const auto now = clock_type::now();
            if (!exited_at_) {
                if (auto stop = watchdog_verdict(now)) {
                    child_.process.kill_group();
                    return *stop;
                }
            } else if (now - *exited_at_ >= drain_limit) {
                break;  // a process outside the group still holds a pipe; what it writes is not ours
            }
            if (auto polled = poll_once(now); !polled) {
                child_.process.kill_group();
                return polled.error();
            }
        }
        return finish();
    }

private:
    // Why a still running child must be stopped now (cancellation, a timeout), if it must.
    std::optional<error> watchdog_verdict(clock_type::time_point now) const {
        if (opts_.cancel && opts_.cancel->canceled()) return make_error(errc::canceled, name_ + " canceled: killed");
        if (opts_.no_progress_timeout.count() > 0 && now - last_output_ >= opts_.no_progress_timeout) {
            return make_error(errc::timeout, name_ + " made no progress for " +
                                                 std::to_string(opts_.no_progress_timeout.count() / 1000) +
                                                 "s: killed");
        }
        if (opts_.wall_timeout.count() > 0 && now - start_ >= opts_.wall_timeout) {
            return make_error(errc::timeout, name_ + " ran longer than " +
                                                 std::to_string(opts_.wall_timeout.count() / 1000) + "s: killed");
        }
        return std::nullopt;
    }

    // 100 ms (the cancel token's polling period), less when the no-progress deadline is nearer; >= 1.
    int poll_timeout_ms(clock_type::time_point now) const {
        auto wait = std::chrono::milliseconds(100);
        if (!exited_at_ && opts_.no_progress_timeout.count() > 0) {
            wait = std::min(
                wait, std::chrono::ceil<std::chrono::milliseconds>(opts_.no_progress_timeout - (now - last_output_)));
        }
        return static_cast<int>(std::max<std::int64_t>(wait.count(), 1));
    }

    // One poll over the open pipes and, until the exit, the pidfd; consumes what became ready.
    result<void> poll_once(clock_type::time_point now) {
        std::array<pollfd, 3> fds{{{out_open_ ? child_.out.get() : -1, POLLIN, 0},
                                   {err_open_ ? child_.err.get() : -1, POLLIN, 0},
                                   {exited_at_ ? -1 : child_.process.pidfd(), POLLIN, 0}}};
        if (::poll(fds.data(), fds.size(), poll_timeout_ms(now)) < 0) {
            if (errno == EINTR) return {};
            return make_error(errc::convert_failed,
                              "waiting for " + name_ + ": poll: " + std::generic_category().message(errno));
        }
        read_ready(fds[0], out_open_);
        read_ready(fds[1], err_open_);
        if (fds[2].revents != 0) {
            // The leader exited (still unreaped): clear out anything it left running in its group.
            exited_at_ = clock_type::now();
            child_.process.kill_group();
        }
        return {};
    }

    // One read from a pipe poll found ready: stdout to the collector, stderr to the bounded tail.
    void read_ready(const pollfd& p, bool& open) {
        if (p.revents == 0) return;
        const ssize_t got = ::read(p.fd, buf_.data(), buf_.size());
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
        if (got <= 0) {
            open = false;
            return;
        }
        last_output_ = clock_type::now();
        const std::string_view data(buf_.data(), static_cast<std::size_t>(got));
        if (p.fd == child_.out.get()) {
            collector_.feed(data);
        } else {
            append_tail(res_.stderr_text, data, opts_.stderr_limit);
        }
    }

    subprocess_result finish() {
        collector_.flush();
        if (res_.stderr_text.size() > opts_.stderr_limit)
            res_.stderr_text.erase(0, res_.stderr_text.size() - opts_.stderr_limit);
        res_.exit_status = child_.process.wait();
        return std::move(res_);
    }

    started_child& child_;
    const std::string& name_;
    const subprocess_options& opts_;
    subprocess_result res_;
    stdout_collector collector_;
    std::vector<char> buf_ = std::vector<char>(64 * 1024);
    const clock_type::time_point start_ = clock_type::now();
    clock_type::time_point last_output_ = start_;
    std::optional<clock_type::time_point> exited_at_;
    bool out_open_ = true, err_open_ = true;
};

}  // namespace

std::string describe_exit(int exit_status) {
    if (exit_status >= 0) return "exit status " + std::to_string(exit_status);
    const int sig = -exit_status;
    const char* abbrev = ::sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

std::string_view last_line(std::string_view text) {
    constexpr std::string_view space = " \t\r\n";
    while (!text.empty()) {
        auto end = text.find_last_not_of(space);
        if (end == std::string_view::npos) return {};
        text = text.substr(0, end + 1);
        auto start = text.find_last_of("\r\n");
        std::string_view line = start == std::string_view::npos ? text : text.substr(start + 1);
        auto first = line.find_first_not_of(space);
        if (first != std::string_view::npos) return line.substr(first);
        text = text.substr(0, start == std::string_view::npos ? 0 : start);
    }
    return {};
}

result<subprocess_result> run_subprocess(const std::vector<std::string>& argv, const subprocess_options& opts) {
    if (argv.empty()) return make_error(errc::convert_failed, "cannot run an empty command");
    const std::string name = program_name(argv[0]);
    auto child = spawn(argv, name, opts);
    if (!child) return child.error();
    return watcher(*child, name, opts).run();
}

}  // namespace cdi
