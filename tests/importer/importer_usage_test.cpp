// importer/importer_usage: cdi-importer's --help names every variable its configuration reads.
#include "importer/importer_usage.hpp"

#include "importer/importer_config.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace cdi {
namespace {

TEST(importer_usage, names_every_variable_the_configuration_reads) {
    std::set<std::string> read;
    importer_config::from_env([&](const char* name) -> const char* {
        read.insert(name);
        return nullptr;
    });
    ASSERT_TRUE(read.count("IMPORTER_SOURCE"));  // the recorder saw the configuration's reads
    const std::string_view usage = importer_usage();
    for (const auto& name : read) EXPECT_NE(usage.find(name), std::string_view::npos) << name << " is not in --help";
}

TEST(importer_usage, says_what_the_binary_is_and_gives_an_example) {
    const std::string_view usage = importer_usage();
    EXPECT_EQ(usage.rfind("cdi-importer: ", 0), 0u);
    EXPECT_NE(usage.find("Example:"), std::string_view::npos);
    EXPECT_NE(usage.find("/dev/termination-log"), std::string_view::npos);
    EXPECT_EQ(usage.back(), '\n');
}

}  // namespace
}  // namespace cdi
