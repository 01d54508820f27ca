#include "server/upload_config.hpp"

#include <gtest/gtest.h>
#include <openssl/tls1.h>

#include <map>
#include <stdexcept>

namespace cdi {
namespace {

upload_config load(std::map<std::string, std::string> env) {
    env.emplace("TLS_KEY_FILE", "/etc/tls/tls.key");
    env.emplace("TLS_CERT_FILE", "/etc/tls/tls.crt");
    env.emplace("CDI_SCRATCH_DIR", "/nonexistent-scratch");
    return upload_config::from_env([&](const char* n) -> const char* {
        auto it = env.find(n);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

TEST(upload_config, defaults_match_cdi) {
    auto c = load({});
    EXPECT_EQ(c.listen_address, "");  // every address of both families (importer/pod/listener.hpp)
    EXPECT_EQ(c.listen_port, 8443);
    EXPECT_EQ(c.tls_min_version, TLS1_2_VERSION);
    EXPECT_EQ(c.spec.target, "/data/disk.img");
    EXPECT_EQ(c.spec.data_dir, "/data");
    EXPECT_EQ(c.termination_log, "/dev/termination-log");
    EXPECT_FALSE(c.spec.scratch_dir);
    EXPECT_FALSE(c.deadline);
    EXPECT_FALSE(c.spec.requested_size);
}

TEST(upload_config, lenient_values_fall_back_like_cdi) {
    auto c = load({{"FILESYSTEM_OVERHEAD", "lots"}, {"PREALLOCATION", "yes please"}});
    EXPECT_EQ(c.spec.filesystem_overhead, 0.0);
    EXPECT_FALSE(c.spec.preallocate);
    auto d = load({{"FILESYSTEM_OVERHEAD", "0.055"}, {"PREALLOCATION", "true"}, {"UPLOAD_IMAGE_SIZE", "1Gi"},
                   {"DESTINATION", "/dev/cdi-block-volume"}, {"LISTEN_PORT", "0"}});
    EXPECT_DOUBLE_EQ(d.spec.filesystem_overhead, 0.055);
    EXPECT_TRUE(d.spec.preallocate);
    EXPECT_EQ(d.spec.requested_size, 1073741824u);
    EXPECT_EQ(d.spec.target, "/dev/cdi-block-volume");
    EXPECT_TRUE(d.spec.block_volume);
    EXPECT_FALSE(c.spec.block_volume);
    EXPECT_EQ(d.listen_port, 0);
}

TEST(upload_config, destination_names_a_block_volume_unless_it_is_inside_the_data_directory) {
    EXPECT_TRUE(load({{"DESTINATION", "/dev/cdi-block-volume"}}).spec.block_volume);
    EXPECT_TRUE(load({{"DESTINATION", "/dev/loop7"}, {"CDI_DATA_DIR", "/tmp/t/data"}}).spec.block_volume);
    EXPECT_TRUE(load({{"DESTINATION", "/tmp/t/data/../dev"}, {"CDI_DATA_DIR", "/tmp/t/data"}}).spec.block_volume);
    EXPECT_FALSE(load({{"DESTINATION", "/tmp/t/data/disk.img"}, {"CDI_DATA_DIR", "/tmp/t/data"}}).spec.block_volume);
    EXPECT_FALSE(load({}).spec.block_volume);
}

TEST(upload_config, an_empty_tls_min_version_falls_back_to_tls_1_2_like_cdi) {
    EXPECT_EQ(load({{"TLS_MIN_VERSION", ""}}).tls_min_version, TLS1_2_VERSION);
    EXPECT_EQ(parse_tls_version(""), TLS1_2_VERSION);
}

TEST(upload_config, fatal_values_throw) {
    EXPECT_THROW(load({{"DEADLINE", "tomorrow"}}), std::invalid_argument);
    EXPECT_THROW(load({{"TLS_MIN_VERSION", "VersionSSL30"}}), std::invalid_argument);
    EXPECT_THROW(load({{"UPLOAD_IMAGE_SIZE", "ten gigs"}}), std::invalid_argument);
    EXPECT_THROW(upload_config::from_env([](const char*) -> const char* { return nullptr; }), std::invalid_argument);
}

TEST(upload_config, a_listen_port_that_does_not_parse_means_8443_as_in_cdi) {
    for (const char* bad : {"", "70000", "-1", "+80", "80a", " 80", "http", "65536"})
        EXPECT_EQ(load({{"LISTEN_PORT", bad}}).listen_port, 8443) << bad;
    EXPECT_EQ(load({{"LISTEN_PORT", "65535"}}).listen_port, 65535);
    EXPECT_EQ(load({{"LISTEN_PORT", "0"}}).listen_port, 0);
}

TEST(upload_config, listen_address_is_kept_as_given_and_empty_when_unset) {
    EXPECT_EQ(load({{"LISTEN_ADDRESS", ""}}).listen_address, "");
    EXPECT_EQ(load({{"LISTEN_ADDRESS", "::1"}}).listen_address, "::1");
}

TEST(upload_config, tls_versions_map_to_openssl) {
    EXPECT_EQ(parse_tls_version("VersionTLS10"), TLS1_VERSION);
    EXPECT_EQ(parse_tls_version("VersionTLS11"), TLS1_1_VERSION);
    EXPECT_EQ(parse_tls_version("VersionTLS13"), TLS1_3_VERSION);
}

TEST(upload_config, rfc3339_times_parse_with_offsets_and_fractions) {
    using namespace std::chrono;
    auto z = parse_rfc3339("2026-11-27T12:00:00Z");
    ASSERT_TRUE(z);
    EXPECT_EQ(duration_cast<seconds>(z->time_since_epoch()).count(), 1795780800);
    auto off = parse_rfc3339("2026-11-27T14:00:00+02:00");
    ASSERT_TRUE(off);
    EXPECT_EQ(*off, *z);
    auto frac = parse_rfc3339("2026-11-27T12:00:00.5Z");
    ASSERT_TRUE(frac);
    EXPECT_EQ(duration_cast<milliseconds>(*frac - *z).count(), 500);
    for (const char* bad : {"2026-11-27", "2026-11-27T12:00:00", "2026-13-27T12:00:00Z", "2026-11-27T12:00:00Zjunk",
                            "2026-11-27 12:00:00Z", "2026-11-27T12:00:00.Z", ""})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(upload_config, the_test_only_body_idle_knob_defaults_to_60_s_and_takes_positive_milliseconds) {
    EXPECT_EQ(load({}).body_idle_timeout, std::chrono::seconds(60));
    EXPECT_EQ(load({{"CDI_TEST_BODY_IDLE_TIMEOUT_MS", "300"}}).body_idle_timeout, std::chrono::milliseconds(300));
    for (const char* bad : {"0", "-1", "1s", "x"})
        EXPECT_THROW(load({{"CDI_TEST_BODY_IDLE_TIMEOUT_MS", bad}}), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace cdi
