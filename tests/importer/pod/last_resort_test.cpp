// The last resort (issue 19.1): an exception that escapes main or any thread still ends with the
// class, `Unable to process data: …` in the termination log, exit 1, and the file target removed.
#include "importer/pod/last_resort.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;

TEST(last_resort, describes_an_exception_by_its_class_and_what) {
    EXPECT_EQ(last_resort::describe(std::make_exception_ptr(std::length_error("field size exceeds limit"))),
              "E_IO: unexpected failure: field size exceeds limit");
    EXPECT_EQ(last_resort::describe(std::make_exception_ptr(std::system_error(make_error_code(errc::auth), "token"))),
              "E_AUTH: unexpected failure: token: E_AUTH");
    EXPECT_EQ(last_resort::describe(nullptr), "E_IO: unexpected failure: terminated without an exception");
    EXPECT_EQ(last_resort::describe(std::make_exception_ptr(42)), "E_IO: unexpected failure: an exception of unknown type");
    EXPECT_LE(last_resort::describe(std::make_exception_ptr(std::runtime_error(std::string(5000, 'x')))).size(), 300u);
}

class last_resort_child : public ::testing::Test {
protected:
    // Runs body in a forked child configured with this test's paths; the child's exit status.
    template <class F>
    int in_child(F body) {
        fs::create_directories(dir_ / "data");
        test::write_file(dir_ / "data" / "disk.img", "half", 4);
        pid_t pid = ::fork();
        if (pid == 0) {
            job_spec spec;
            spec.target = dir_ / "data" / "disk.img";
            spec.data_dir = dir_ / "data";
            last_resort::install();
            last_resort::configure(dir_ / "termination-log", spec);
            ::_exit(body());
        }
        int st = 0;
        ::waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    std::string message() {
        auto v = test::read_file(dir_ / "termination-log");
        return {v.begin(), v.end()};
    }
    test::temp_dir dir_;
};

TEST_F(last_resort_child, an_exception_escaping_main_exits_1_with_the_message_and_removes_the_target) {
    int status = in_child([] { return last_resort::run([]() -> int { throw std::length_error("field size exceeds limit"); }); });
    EXPECT_EQ(status, 1);
    EXPECT_EQ(message(), "Unable to process data: E_IO: unexpected failure: field size exceeds limit");
    EXPECT_FALSE(fs::exists(dir_ / "data" / "disk.img"));
}

TEST_F(last_resort_child, an_exception_escaping_a_thread_exits_1_with_the_message_not_sigabrt) {
    int status = in_child([] {
        std::thread t([] { throw std::runtime_error("thrown in a worker"); });
        t.join();
        return 0;
    });
    EXPECT_EQ(status, 1);
    EXPECT_EQ(message(), "Unable to process data: E_IO: unexpected failure: thrown in a worker");
    EXPECT_FALSE(fs::exists(dir_ / "data" / "disk.img"));
}

TEST_F(last_resort_child, a_block_device_target_is_never_removed) {
    job_spec spec;
    spec.target = "/dev/null";
    last_resort::remove_target(spec);
    EXPECT_TRUE(fs::exists("/dev/null"));
}

}  // namespace
}  // namespace cdi
