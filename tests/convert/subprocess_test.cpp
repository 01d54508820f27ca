// run_subprocess: exit codes, output capture and splitting, resource limits, the watchdogs and the
// process-group hygiene of security.md 2.9 ("no surviving child process").
#include "convert/subprocess.hpp"

#include "support/test_env.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace cdi {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

result<subprocess_result> sh(const std::string& script, const subprocess_options& opts = {}) {
    return run_subprocess({"/bin/sh", "-c", script}, opts);
}

// Alive and not a zombie (a container's pid 1 may be slow to reap orphans).
bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// pgrep -g, minus zombies.
bool group_has_live_members(pid_t pgid) {
    auto out = test::run_command("pgrep -g " + std::to_string(pgid)).output;
    std::istringstream in(out);
    pid_t pid;
    while (in >> pid) {
        if (alive(pid)) return true;
    }
    return false;
}

bool eventually_dead(pid_t pid) {
    for (int i = 0; i < 100 && alive(pid); ++i) std::this_thread::sleep_for(20ms);
    return !alive(pid);
}

pid_t read_pid(const std::string& text) {
    return static_cast<pid_t>(std::stol(text));
}

TEST(subprocess, reports_exit_codes) {
    auto ok = run_subprocess({"true"}, {});
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(ok->exit_status, 0);
    auto three = sh("exit 3");
    ASSERT_TRUE(three);
    EXPECT_EQ(three->exit_status, 3);
    EXPECT_EQ(describe_exit(three->exit_status), "exit status 3");
}

TEST(subprocess, reports_death_by_signal_as_negative_status) {
    auto r = sh("kill -SEGV $$");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->exit_status, -SIGSEGV);
    EXPECT_EQ(describe_exit(r->exit_status), "killed by signal 11 (SIGSEGV)");
}

TEST(subprocess, missing_program_is_convert_failed_naming_it) {
    auto r = run_subprocess({"cdi-no-such-program"}, {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_NE(r.error().context.find("cannot run cdi-no-such-program"), std::string::npos) << r.error().context;
    auto abs = run_subprocess({"/nonexistent/qemu-img"}, {});
    ASSERT_FALSE(abs);
    EXPECT_NE(abs.error().context.find("cannot run /nonexistent/qemu-img"), std::string::npos);
}

TEST(subprocess, empty_command_is_convert_failed) {
    auto r = run_subprocess({}, {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_EQ(r.error().context, "cannot run an empty command");
}

// An executable file the kernel cannot run: the child's execve errno comes back over the status pipe.
TEST(subprocess, exec_failure_in_the_child_is_convert_failed_with_its_errno) {
    test::temp_dir dir;
    const auto program = dir.path() / "not-a-program";
    const std::string garbage = "\x7f\x01garbage";  // no ELF header, no #!
    test::write_file(program, garbage.data(), garbage.size());
    std::filesystem::permissions(program, std::filesystem::perms::owner_all);
    auto r = run_subprocess({program.string()}, {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_EQ(r.error().context, "cannot run not-a-program: " + std::generic_category().message(ENOEXEC));
}

TEST(subprocess, splits_stdout_lines_on_cr_and_lf) {
    std::vector<std::string> lines;
    subprocess_options o;
    o.on_stdout_line = [&](std::string_view l) { lines.emplace_back(l); };
    auto r = sh("printf '    (0.00/100%%)\\r    (45.34/100%%)\\rtwo\\n\\nlast'", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(lines, (std::vector<std::string>{"    (0.00/100%)", "    (45.34/100%)", "two", "last"}));
    EXPECT_EQ(r->stdout_text, "    (0.00/100%)\r    (45.34/100%)\rtwo\n\nlast");
}

TEST(subprocess, splits_a_stdout_line_longer_than_64_kib) {
    std::vector<std::size_t> sizes;
    subprocess_options o;
    o.on_stdout_line = [&](std::string_view l) { sizes.push_back(l.size()); };
    auto r = sh("head -c 150000 /dev/zero | tr '\\0' x", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(sizes, (std::vector<std::size_t>{65536, 65536, 150000 - 2 * 65536}));
}

TEST(subprocess, stderr_never_reaches_the_line_callback) {
    std::vector<std::string> lines;
    subprocess_options o;
    o.on_stdout_line = [&](std::string_view l) { lines.emplace_back(l); };
    auto r = sh("echo out; echo '(50.00/100%)' >&2", o);
    ASSERT_TRUE(r);
    EXPECT_EQ(lines, std::vector<std::string>{"out"});
    EXPECT_EQ(r->stderr_text, "(50.00/100%)\n");
}

TEST(subprocess, keeps_the_tail_of_a_long_stderr) {
    subprocess_options o;
    o.stderr_limit = 1000;
    auto r = sh("head -c 300000 /dev/zero | tr '\\0' x >&2; printf END >&2", o);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stderr_text.size(), 1000u);
    EXPECT_EQ(r->stderr_text.substr(997), "END");
    EXPECT_EQ(last_line("a\nqemu-img: failed\n\n"), "qemu-img: failed");
}

TEST(subprocess, bounds_stdout_capture) {
    auto r = sh("head -c 3000000 /dev/zero");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stdout_text.size(), subprocess_result::stdout_limit);
    EXPECT_TRUE(r->stdout_truncated);
}

TEST(subprocess, address_space_limit_makes_a_memory_hog_fail) {
    CDI_REQUIRE_TOOL("perl");
    const std::vector<std::string> hog{"perl", "-e", "my $x = 'a' x (256*1024*1024); print length($x)"};
    subprocess_options o;
    o.address_space_limit = 64ULL << 20;
    auto limited = run_subprocess(hog, o);
    ASSERT_TRUE(limited) << limited.error().message();
    EXPECT_NE(limited->exit_status, 0);
    EXPECT_TRUE(limited->stdout_text.empty());
    // The same program within the limit works (the limit, not the program, made it fail).
    const std::vector<std::string> small{"perl", "-e", "my $x = 'a' x (1024*1024); print length($x)"};
    auto ok = run_subprocess(small, o);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->exit_status, 0);
    EXPECT_EQ(ok->stdout_text, "1048576");
}

TEST(subprocess, child_never_dumps_core) {
    auto r = sh("ulimit -c");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stdout_text, "0\n");
}

TEST(subprocess, cpu_limit_kills_a_spinning_child) {
    subprocess_options o;
    o.cpu_seconds_limit = 1;
    const auto start = clock_type::now();
    auto r = sh("while :; do :; done", o);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->exit_status == -SIGXCPU || r->exit_status == -SIGKILL) << r->exit_status;
    EXPECT_LT(clock_type::now() - start, 10s);
}

TEST(subprocess, no_progress_watchdog_kills_the_whole_group) {
    std::string ids;
    subprocess_options o;
    o.no_progress_timeout = 1s;
    o.on_stdout_line = [&](std::string_view l) { ids = l; };
    const auto start = clock_type::now();
    auto r = sh("sleep 100 & echo $$ $!; wait", o);
    const auto took = clock_type::now() - start;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::timeout));
    EXPECT_EQ(r.error().context, "sh made no progress for 1s: killed");
    EXPECT_GE(took, 1s);
    EXPECT_LT(took, 5s);
    std::istringstream in(ids);
    pid_t leader = 0, grandchild = 0;
    in >> leader >> grandchild;
    ASSERT_GT(leader, 0);
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(eventually_dead(grandchild));
    EXPECT_FALSE(alive(leader));
    EXPECT_FALSE(group_has_live_members(leader));
}

TEST(subprocess, output_keeps_the_watchdog_quiet) {
    subprocess_options o;
    o.no_progress_timeout = 700ms;
    auto r = sh("for i in 1 2 3 4 5; do echo $i; sleep 0.3; done", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->exit_status, 0);
}

TEST(subprocess, wall_timeout_kills_a_slow_child) {
    subprocess_options o;
    o.wall_timeout = 500ms;
    auto r = sh("while :; do echo tick; sleep 0.1; done", o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::timeout));
    EXPECT_NE(r.error().context.find("ran longer than"), std::string::npos);
}

TEST(subprocess, cancel_token_kills_the_group) {
    cancel_token cancel;
    std::string ids;
    subprocess_options o;
    o.cancel = &cancel;
    o.on_stdout_line = [&](std::string_view l) { ids = l; };
    std::thread canceler([&] {
        std::this_thread::sleep_for(300ms);
        cancel.cancel();
    });
    const auto start = clock_type::now();
    auto r = sh("sleep 100 & echo $!; wait", o);
    canceler.join();
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::canceled));
    EXPECT_LT(clock_type::now() - start, 3s);
    ASSERT_FALSE(ids.empty());
    EXPECT_TRUE(eventually_dead(read_pid(ids)));
}

TEST(subprocess, leftover_group_members_are_killed_after_exit) {
    std::string ids;
    subprocess_options o;
    o.on_stdout_line = [&](std::string_view l) { ids = l; };
    // The background sleep keeps stdout open; it is in the group, so it dies with it.
    const auto start = clock_type::now();
    auto r = sh("sleep 100 & echo $!", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->exit_status, 0);
    EXPECT_LT(clock_type::now() - start, 3s);
    EXPECT_TRUE(eventually_dead(read_pid(ids)));
}

// setsid puts the sleep in a session of its own, out of reach of the group kill; it holds stdout
// open. The script exits only once the sleep has left the group (it wrote its pid file).
TEST(subprocess, stops_draining_a_pipe_held_outside_the_group_two_seconds_after_the_exit) {
    test::temp_dir dir;
    const std::string pid_file = (dir.path() / "pid").string();
    std::string ids;
    subprocess_options o;
    o.on_stdout_line = [&](std::string_view l) { ids = l; };
    const auto start = clock_type::now();
    auto r = sh("setsid sh -c 'echo $$ > " + pid_file + "; exec sleep 100' & while [ ! -s " + pid_file +
                    " ]; do sleep 0.05; done; cat " + pid_file,
                o);
    const auto took = clock_type::now() - start;
    ASSERT_FALSE(ids.empty());
    const pid_t straggler = read_pid(ids);
    ::kill(straggler, SIGKILL);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->exit_status, 0);
    EXPECT_GE(took, 2s);
    EXPECT_LT(took, 5s);
}

TEST(subprocess, child_gets_a_fixed_environment_and_null_stdin) {
    auto r = [] {
        const test::scoped_env secret("CDI_SUBPROCESS_TEST_SECRET", "s3cret");
        return run_subprocess({"env"}, {});
    }();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->stdout_text, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLC_ALL=C\n");
    auto cat = run_subprocess({"cat"}, {});  // would block forever on an inherited terminal or pipe
    ASSERT_TRUE(cat);
    EXPECT_EQ(cat->exit_status, 0);
    EXPECT_TRUE(cat->stdout_text.empty());
}

TEST(subprocess, child_inherits_no_descriptor_above_stderr) {
    test::temp_dir dir;
    const int leaked = ::open((dir.path() / "f").c_str(), O_CREAT | O_WRONLY, 0600);  // no O_CLOEXEC
    ASSERT_GE(leaked, 0);
    auto r = run_subprocess({"ls", "/proc/self/fd"}, {});
    ::close(leaked);
    ASSERT_TRUE(r);
    // 0-2, plus the one ls opened to read the directory.
    EXPECT_EQ(r->stdout_text, "0\n1\n2\n3\n");
}

TEST(subprocess, child_dies_with_its_parent) {
    test::temp_dir dir;
    const auto pid_file = dir.path() / "pid";
    const pid_t helper = ::fork();
    ASSERT_GE(helper, 0);
    if (helper == 0) {
        (void)run_subprocess({"/bin/sh", "-c",
                              "echo $$ > '" + pid_file.string() + "'.tmp; mv '" + pid_file.string() + "'.tmp '" +
                                  pid_file.string() + "'; exec sleep 100"},
                             {});
        ::_exit(0);
    }
    for (int i = 0; i < 250 && !std::filesystem::exists(pid_file); ++i) std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(std::filesystem::exists(pid_file));
    const auto text = test::read_file(pid_file);
    const pid_t child = read_pid(std::string(text.begin(), text.end()));
    ASSERT_TRUE(alive(child));
    ::kill(helper, SIGKILL);
    ::waitpid(helper, nullptr, 0);
    EXPECT_TRUE(eventually_dead(child));  // PR_SET_PDEATHSIG(SIGKILL)
}

}  // namespace
}  // namespace cdi
