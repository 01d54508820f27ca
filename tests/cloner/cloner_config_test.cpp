// cdi-cloner's configuration (cloner/cloner_config): the source pod's environment as CDI's clone
// controller sets it, and the refusals that stop the pod before anything starts.
#include "cloner/cloner_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace cdi {
namespace {

std::map<std::string, std::string> pod_env() {
    return {{"CLIENT_KEY", "-----BEGIN PRIVATE KEY-----secret"},
            {"CLIENT_CERT", "cert"},
            {"SERVER_CA_CERT", "ca"},
            {"UPLOAD_URL", "https://cdi-upload-tgt.ns.svc:8443/v1beta1/upload"},
            {"OWNER_UID", "uid-1"},
            {"PREALLOCATION", "false"},
            {"VOLUME_MODE", "block"},
            {"MOUNT_POINT", "/dev/cdi-block-volume"}};
}

cloner_config parse(const std::map<std::string, std::string>& env) {
    return cloner_config::from_env([&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

TEST(cloner_config, reads_the_source_pods_environment) {
    auto env = pod_env();
    env["CDI_METRICS_PORT"] = "9443";
    const auto c = parse(env);
    EXPECT_EQ(c.credentials.client_key_pem, "-----BEGIN PRIVATE KEY-----secret");
    EXPECT_EQ(c.upload_url, "https://cdi-upload-tgt.ns.svc:8443/v1beta1/upload");
    EXPECT_EQ(c.owner_uid, "uid-1");
    EXPECT_FALSE(c.preallocation);
    EXPECT_EQ(c.mode, volume_mode::block);
    EXPECT_STREQ(c.content_type(), "blockdevice-clone");
    EXPECT_EQ(c.mount_point, "/dev/cdi-block-volume");
    EXPECT_EQ(c.termination_log, "/dev/termination-log");
    EXPECT_EQ(c.metrics_port, 9443);
}

TEST(cloner_config, a_filesystem_volume_is_a_filesystem_clone) {
    auto env = pod_env();
    env["VOLUME_MODE"] = "filesystem";
    env["PREALLOCATION"] = "true";
    const auto c = parse(env);
    EXPECT_STREQ(c.content_type(), "filesystem-clone");
    EXPECT_TRUE(c.preallocation);
}

TEST(cloner_config, every_required_variable_missing_or_empty_is_refused_by_name) {
    for (const auto& [name, value] : pod_env()) {
        for (bool erase : {true, false}) {
            auto env = pod_env();
            if (erase) env.erase(name);
            else env[name] = "";
            try {
                parse(env);
                ADD_FAILURE() << name << " was not required";
            } catch (const std::invalid_argument& e) {
                EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
                EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
            }
        }
    }
}

TEST(cloner_config, an_unknown_volume_mode_or_a_non_boolean_preallocation_is_refused) {
    for (auto [name, value] : {std::pair{"VOLUME_MODE", "Block"}, std::pair{"PREALLOCATION", "yes"}}) {
        auto env = pod_env();
        env[name] = value;
        EXPECT_THROW(parse(env), std::invalid_argument) << name;
    }
}

TEST(cloner_config, the_success_message_is_cdis_plain_text) {
    EXPECT_EQ(clone_complete_message(false), "Clone Complete");
    EXPECT_EQ(clone_complete_message(true), "Clone Complete, Preallocation applied");
}

TEST(cloner_config, the_help_text_names_every_variable_the_configuration_reads) {
    const std::string usage = cloner_usage();
    for (const auto& [name, value] : pod_env()) EXPECT_NE(usage.find(name), std::string::npos) << name;
    for (const char* name : {"CDI_TERMINATION_LOG", "CDI_METRICS_ADDRESS", "CDI_METRICS_PORT"})
        EXPECT_NE(usage.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace cdi
