// server/upload_usage: cdi-uploadserver's --help names every variable its configuration reads.
#include "server/upload_usage.hpp"

#include "server/upload_config.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace cdi {
namespace {

TEST(upload_usage, names_every_variable_the_configuration_reads) {
    std::set<std::string> read;
    upload_config::from_env([&](const char* name) -> const char* {
        read.insert(name);
        // The two required ones set, so the configuration reads on past them.
        if (std::string_view(name) == "TLS_KEY_FILE") return "/etc/tls/tls.key";
        if (std::string_view(name) == "TLS_CERT_FILE") return "/etc/tls/tls.crt";
        return nullptr;
    });
    ASSERT_TRUE(read.count("UPLOAD_IMAGE_SIZE"));  // the recorder saw the configuration's last reads
    const std::string_view usage = upload_usage();
    for (const auto& name : read) EXPECT_NE(usage.find(name), std::string_view::npos) << name << " is not in --help";
}

TEST(upload_usage, says_what_the_binary_is_and_gives_an_example) {
    const std::string_view usage = upload_usage();
    EXPECT_EQ(usage.rfind("cdi-uploadserver: ", 0), 0u);
    EXPECT_NE(usage.find("Example:"), std::string_view::npos);
    EXPECT_NE(usage.find("/dev/termination-log"), std::string_view::npos);
    EXPECT_EQ(usage.back(), '\n');
}

}  // namespace
}  // namespace cdi
