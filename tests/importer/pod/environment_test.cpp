// importer/pod/environment: the variable lookup and Go's boolean spellings both binaries rely on.
#include "importer/pod/environment.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace cdi {
namespace {

TEST(env, returns_the_value_an_empty_value_or_the_fallback_when_unset) {
    const std::map<std::string, std::string> vars{{"SET", "v"}, {"EMPTY", ""}};
    const env_lookup lookup = [&](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
    EXPECT_EQ(env(lookup, "SET", "fb"), "v");
    EXPECT_EQ(env(lookup, "EMPTY", "fb"), "");
    EXPECT_EQ(env(lookup, "UNSET", "fb"), "fb");
    EXPECT_EQ(env(lookup, "UNSET"), "");
}

TEST(parse_go_bool, accepts_gos_spellings) {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_TRUE(parse_go_bool("X", t));
    for (const char* f : {"", "0", "f", "F", "FALSE", "false", "False"}) EXPECT_FALSE(parse_go_bool("X", f));
}

TEST(parse_go_bool, refuses_other_words_naming_the_variable) {
    for (const char* bad : {"yes", "on", "tRUE", " true", "2"}) {
        try {
            parse_go_bool("PREALLOCATION", bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("PREALLOCATION"), std::string::npos) << e.what();
        }
    }
}

TEST(parse_port, accepts_0_to_65535_and_refuses_the_rest_naming_the_variable) {
    EXPECT_EQ(parse_port("P", "0"), 0);
    EXPECT_EQ(parse_port("P", "8443"), 8443);
    EXPECT_EQ(parse_port("P", "65535"), 65535);
    for (const char* bad : {"", "65536", "-1", "84 43", "0x10", "http"}) {
        try {
            parse_port("CDI_METRICS_PORT", bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("CDI_METRICS_PORT"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
}  // namespace cdi
