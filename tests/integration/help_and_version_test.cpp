// The three binaries answer a person's -h/--help and --version (issue 13): the text on stdout, exit 0,
// and nothing started: no log line, no socket bound, no termination message, no file in the volume.
// The same environment without the flag would run: the importer writes "Unknown data source: " and
// binds its progress port; the upload server and the cloner fail their configuration (exit 1).
#include "support/upload_server_fixture.hpp"  // test::q, test::slurp

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::q;

struct binary {
    const char* name;
    const char* path;
};

const binary binaries[] = {
    {"cdi-importer", CDI_BINARY_DIR "/importer/cdi-importer"},
    {"cdi-uploadserver", CDI_BINARY_DIR "/server/cdi-uploadserver"},
    {"cdi-cloner", CDI_BINARY_DIR "/cloner/cdi-cloner"},
};

class help_and_version_test : public ::testing::TestWithParam<binary> {
protected:
    struct outcome {
        int status;
        std::string out;
        std::string err;
        std::string syscalls;  // bind/listen seen by strace ("" without strace)
    };

    // Runs the binary with args in the pod environment moved under dir_ (strace -f when installed).
    outcome run(const std::string& args) {
        fs::create_directories(dir_ / "data");
        std::string cmd = "env -i PATH=\"$PATH\" CDI_DATA_DIR=" + q(dir_ / "data") + " CDI_SCRATCH_DIR=" +
                          q(dir_ / "scratch") + " CDI_BLOCK_DEVICE=" + q(dir_ / "no-block") +
                          " CDI_TERMINATION_LOG=" + q(dir_ / "termination-log") + " CDI_METRICS_PORT=0 LISTEN_PORT=0 ";
        if (strace_) cmd += "strace -f -qq -e trace=bind,listen -o " + q(dir_ / "strace") + " ";
        cmd += std::string(GetParam().path) + " " + args + " > " + q(dir_ / "out") + " 2> " + q(dir_ / "err");
        const auto r = test::run_command(cmd);
        return {r.status, test::slurp(dir_ / "out"), test::slurp(dir_ / "err"), strace_ ? test::slurp(dir_ / "strace") : ""};
    }

    void expect_nothing_started(const outcome& o) {
        EXPECT_EQ(o.err, "") << "a log line: something started";
        EXPECT_EQ(o.syscalls, "") << "a socket was bound";
        EXPECT_FALSE(fs::exists(dir_ / "termination-log"));
        EXPECT_TRUE(fs::is_empty(dir_ / "data"));
    }

    test::temp_dir dir_;
    bool strace_ = test::have_tool("strace");
};

TEST_P(help_and_version_test, help_prints_the_usage_on_stdout_exits_0_and_starts_nothing) {
    for (const char* flag : {"--help", "-h", "-help"}) {
        auto o = run(std::string("-v=3 -alsologtostderr ") + flag);
        EXPECT_EQ(o.status, 0) << flag << "\n" << o.err;
        EXPECT_EQ(o.out.rfind(std::string(GetParam().name) + ": ", 0), 0u) << flag << "\n" << o.out;
        EXPECT_NE(o.out.find("Example:"), std::string::npos) << flag;
        expect_nothing_started(o);
    }
}

TEST_P(help_and_version_test, version_prints_the_version_and_commit_on_stdout_exits_0_and_starts_nothing) {
    for (const char* flag : {"--version", "-version"}) {
        auto o = run(flag);
        EXPECT_EQ(o.status, 0) << flag << "\n" << o.err;
        EXPECT_EQ(o.out.rfind(std::string(GetParam().name) + " ", 0), 0u) << flag << "\n" << o.out;
        EXPECT_NE(o.out.find(" (commit "), std::string::npos) << o.out;
        EXPECT_EQ(o.out.back(), '\n');
        expect_nothing_started(o);
    }
}

TEST_P(help_and_version_test, without_the_flags_the_same_command_runs_and_exits_1) {
    // The control: the environment above is not one that would start nothing anyway.
    auto o = run("-v=3 -alsologtostderr");
    EXPECT_EQ(o.status, 1) << o.err;
    EXPECT_EQ(o.out, "");
    EXPECT_NE(o.err, "");
}

INSTANTIATE_TEST_SUITE_P(binaries, help_and_version_test, ::testing::ValuesIn(binaries),
                         [](const ::testing::TestParamInfo<binary>& p) { return std::string(p.param.name).substr(4); });

}  // namespace
}  // namespace cdi
