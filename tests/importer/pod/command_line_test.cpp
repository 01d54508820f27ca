// importer/pod/command_line: the flags CDI's controllers pass (Go flag/klog style) keep working, and a
// person's -h/--help and --version are recognised; unknown arguments are kept, never fatal.
#include "importer/pod/command_line.hpp"

#include "importer/pod/version.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

namespace cdi {
namespace {

// argv as main() gets it: the program name first.
command_line parse(std::initializer_list<std::string> args) {
    std::vector<std::string> storage{"cdi-importer"};
    storage.insert(storage.end(), args);
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    return parse_command_line(argv);
}

using request = command_line::request;

TEST(command_line, go_style_verbosity_in_every_spelling) {
    EXPECT_EQ(parse({"-v=3"}).verbosity, 3);
    EXPECT_EQ(parse({"--v=4"}).verbosity, 4);
    EXPECT_EQ(parse({"-v", "5"}).verbosity, 5);
    EXPECT_EQ(parse({"-v=x"}).verbosity, 0);  // not a number: the default, as today
    EXPECT_EQ(parse({}).verbosity, 0);
}

TEST(command_line, klog_switches_are_accepted_and_change_nothing) {
    auto cl = parse({"-alsologtostderr", "--logtostderr", "-v=1"});
    EXPECT_TRUE(cl.ignored.empty());
    EXPECT_EQ(cl.what, request::run);
    EXPECT_EQ(cl.verbosity, 1);
}

TEST(command_line, unknown_arguments_are_kept_and_the_binary_runs) {
    auto cl = parse({"-new-controller-flag=1", "positional", "-v=2"});
    EXPECT_EQ(cl.what, request::run);
    EXPECT_EQ(cl.ignored, (std::vector<std::string>{"-new-controller-flag=1", "positional"}));
    EXPECT_EQ(cl.verbosity, 2);
}

TEST(command_line, help_in_every_spelling) {
    for (const char* h : {"-h", "--h", "-help", "--help"}) {
        auto cl = parse({"-v=3", h});
        EXPECT_EQ(cl.what, request::help) << h;
        EXPECT_TRUE(cl.ignored.empty()) << h;
        EXPECT_EQ(cl.verbosity, 3) << h;
    }
}

TEST(command_line, version_in_both_spellings) {
    EXPECT_EQ(parse({"--version"}).what, request::version);
    EXPECT_EQ(parse({"-version"}).what, request::version);
}

TEST(command_line, help_wins_over_version_wherever_it_stands) {
    EXPECT_EQ(parse({"--version", "--help"}).what, request::help);
    EXPECT_EQ(parse({"--help", "--version"}).what, request::help);
}

TEST(command_line, help_or_version_with_a_value_is_an_unknown_argument) {
    auto cl = parse({"--help=false", "--version=1"});
    EXPECT_EQ(cl.what, request::run);
    EXPECT_EQ(cl.ignored, (std::vector<std::string>{"--help=false", "--version=1"}));
}

TEST(answer_help_or_version, help_prints_the_usage_and_exits_0) {
    std::ostringstream out;
    EXPECT_EQ(answer_help_or_version(parse({"--help"}), "cdi-importer", "usage text\n", out), 0);
    EXPECT_EQ(out.str(), "usage text\n");
}

TEST(answer_help_or_version, version_prints_the_program_version_and_commit_and_exits_0) {
    std::ostringstream out;
    EXPECT_EQ(answer_help_or_version(parse({"--version"}), "cdi-uploadserver", "usage text\n", out), 0);
    EXPECT_EQ(out.str(), "cdi-uploadserver " + std::string(build_version()) + " (commit " + std::string(build_commit()) + ")\n");
    EXPECT_FALSE(build_version().empty());
    EXPECT_FALSE(build_commit().empty());
}

TEST(answer_help_or_version, a_run_prints_nothing_and_goes_on) {
    std::ostringstream out;
    EXPECT_EQ(answer_help_or_version(parse({"-v=3"}), "cdi-importer", "usage text\n", out), std::nullopt);
    EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace cdi
