#include "importer/importer_config.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

namespace cdi {
namespace {

struct fake_env {
    std::map<std::string, std::string> vars;
    importer_config::env_lookup lookup() const {
        return [this](const char* n) -> const char* {
            auto it = vars.find(n);
            return it == vars.end() ? nullptr : it->second.c_str();
        };
    }
};

TEST(importer_config, reads_the_controllers_environment) {
    test::temp_dir dir;
    std::filesystem::create_directory(dir / "data");
    std::filesystem::create_directory(dir / "scratch");
    fake_env e{{{"IMPORTER_SOURCE", "http"},
                {"IMPORTER_ENDPOINT", "http://example/disk.img"},
                {"IMPORTER_CONTENTTYPE", "kubevirt"},
                {"IMPORTER_IMAGE_SIZE", "1Gi"},
                {"FILESYSTEM_OVERHEAD", "0.055"},
                {"PREALLOCATION", "true"},
                {"CACHE_MODE", "TRYNONE"},
                {"OWNER_UID", "uid-1"},
                {"CDI_DATA_DIR", (dir / "data").string()},
                {"CDI_SCRATCH_DIR", (dir / "scratch").string()},
                {"CDI_BLOCK_DEVICE", (dir / "no-such-device").string()}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_EQ(c.source, "http");
    EXPECT_EQ(c.spec.target, dir / "data" / "disk.img");
    EXPECT_EQ(c.spec.scratch_dir, dir / "scratch");
    EXPECT_EQ(c.spec.requested_size, 1073741824u);
    EXPECT_DOUBLE_EQ(c.spec.filesystem_overhead, 0.055);
    EXPECT_TRUE(c.spec.preallocate);
    EXPECT_EQ(c.spec.cache, cache_mode::try_none);
    EXPECT_TRUE(c.spec.page_cache_off);
    EXPECT_EQ(c.spec.convert_with, converter::stream);
    EXPECT_EQ(c.owner_uid, "uid-1");
}

TEST(importer_config, cdi_converter_picks_the_qcow2_converter_and_cache_mode_unset_keeps_the_page_cache) {
    fake_env e{{{"CDI_SCRATCH_DIR", "/nonexistent"}, {"CDI_CONVERTER", "qemu-img"}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_EQ(c.spec.convert_with, converter::qemu_img);
    EXPECT_FALSE(c.spec.page_cache_off);
}

TEST(importer_config, a_missing_scratch_mount_means_no_scratch_and_an_existing_block_path_means_block_mode) {
    test::temp_dir dir;
    test::write_file(dir / "blockdev", "x", 1);
    fake_env e{{{"CDI_SCRATCH_DIR", (dir / "absent").string()}, {"CDI_BLOCK_DEVICE", (dir / "blockdev").string()}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_FALSE(c.spec.scratch_dir.has_value());
    EXPECT_EQ(c.spec.target, dir / "blockdev");
    EXPECT_TRUE(c.spec.block_volume);  // a file there is then refused by the job, not replaced
}

TEST(importer_config, a_symlink_at_the_block_path_means_block_mode_even_when_dangling) {
    test::temp_dir dir;
    std::filesystem::create_symlink(dir / "nowhere", dir / "blockdev");
    fake_env e{{{"CDI_SCRATCH_DIR", (dir / "absent").string()}, {"CDI_BLOCK_DEVICE", (dir / "blockdev").string()}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_EQ(c.spec.target, dir / "blockdev");
    EXPECT_TRUE(c.spec.block_volume);
    fake_env none{{{"CDI_SCRATCH_DIR", (dir / "absent").string()}, {"CDI_BLOCK_DEVICE", (dir / "absent").string()}}};
    EXPECT_FALSE(importer_config::from_env(none.lookup()).spec.block_volume);
}

TEST(importer_config, rejects_invalid_values_naming_the_variable) {
    for (auto [name, value] : std::map<std::string, std::string>{{"PREALLOCATION", "yes"},
                                                                 {"FILESYSTEM_OVERHEAD", "abc"},
                                                                 {"IMPORTER_IMAGE_SIZE", "12Q"},
                                                                 {"IMPORTER_CONTENTTYPE", "zip"},
                                                                 {"CDI_CONVERTER", "nbdkit"}}) {
        fake_env e{{{name, value}, {"CDI_SCRATCH_DIR", "/nonexistent"}}};
        try {
            importer_config::from_env(e.lookup());
            ADD_FAILURE() << name << " accepted";
        } catch (const std::invalid_argument& ex) {
            EXPECT_NE(std::string(ex.what()).find(name), std::string::npos) << ex.what();
        }
    }
}

TEST(importer_config, reads_the_http_settings_headers_and_node_pull_files) {
    test::temp_dir dir;
    std::filesystem::create_directories(dir / "certs");
    std::filesystem::create_directories(dir / "proxycerts");
    std::filesystem::create_directories(dir / "extraheaders" / "0" / "..2026_11_27");
    test::write_file(dir / "extraheaders" / "0" / "..2026_11_27" / "secretHeader", "X-Secret: s3\n", 12);
    std::filesystem::create_directory_symlink("..2026_11_27", dir / "extraheaders" / "0" / "..data");
    std::filesystem::create_symlink("..data/secretHeader", dir / "extraheaders" / "0" / "secretHeader");
    fake_env e{{{"INSECURE_TLS", "true"},
                {"IMPORTER_CERT_DIR", (dir / "certs").string()},
                {"CDI_PROXY_CERT_DIR", (dir / "proxycerts").string()},
                {"CDI_EXTRA_HEADERS_DIR", (dir / "extraheaders").string()},
                {"IMPORTER_ACCESS_KEY_ID", "user"},
                {"IMPORTER_SECRET_KEY", "pw"},
                {"IMPORTER_CHECKSUM", "sha256:abc"},
                {"GOOGLE_APPLICATION_CREDENTIALS", "/google/credentials.json"},
                {"http_proxy", "http://proxy:3128"},
                {"HTTPS_PROXY", "http://upper:3128"},
                {"https_proxy", "http://lower:3128"},
                {"no_proxy", ".svc,10.0.0.0/8"},
                {"IMPORTER_PULL_METHOD", "node"},
                {"IMPORTER_REGISTRY_IMAGE_ARCHITECTURE", "arm64"},
                {"IMPORTER_READY_FILE", "/shared/ready"},
                {"IMPORTER_DONE_FILE", "/shared/done"},
                {"CDI_METRICS_PORT", "0"},
                {"CDI_SCRATCH_DIR", "/nonexistent"}}};
    auto c = importer_config::from_env(e.lookup(), {"PATH=/bin", "IMPORTER_EXTRA_HEADER_0=X-Token: abc",
                                                    "IMPORTER_EXTRA_HEADER_1=X-Other: d=e"});
    EXPECT_TRUE(c.http.insecure_tls);
    EXPECT_EQ(c.http.ca_dirs, (std::vector<std::filesystem::path>{dir / "certs", dir / "proxycerts"}));
    ASSERT_TRUE(c.http.credentials.has_value());
    EXPECT_EQ(c.http.credentials->user, "user");
    EXPECT_EQ(c.http.credentials->password, "pw");
    EXPECT_EQ(c.http.extra_headers, (std::vector<std::string>{"X-Token: abc", "X-Other: d=e", "X-Secret: s3"}));
    EXPECT_EQ(c.http.proxy.http_proxy, "http://proxy:3128");
    EXPECT_EQ(c.http.proxy.https_proxy, "http://upper:3128");
    EXPECT_EQ(c.http.proxy.no_proxy, ".svc,10.0.0.0/8");
    EXPECT_EQ(c.checksum, "sha256:abc");
    EXPECT_EQ(c.gcs_key_file, "/google/credentials.json");
    EXPECT_EQ(c.pull_method, "node");
    EXPECT_EQ(c.registry_architecture, "arm64");
    EXPECT_EQ(c.ready_file, "/shared/ready");
    EXPECT_EQ(c.done_file, "/shared/done");
    EXPECT_EQ(c.metrics_port, 0);
}

TEST(importer_config, sends_credentials_only_when_both_keys_are_set_and_reads_insecure_tls_leniently) {
    fake_env e{{{"IMPORTER_ACCESS_KEY_ID", "user"}, {"INSECURE_TLS", "maybe"}, {"CDI_SCRATCH_DIR", "/nonexistent"},
                {"CDI_PROXY_CERT_DIR", "/nonexistent"}, {"CDI_EXTRA_HEADERS_DIR", "/nonexistent"}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_FALSE(c.http.credentials.has_value());
    EXPECT_FALSE(c.http.insecure_tls);
    EXPECT_TRUE(c.http.ca_dirs.empty());
    EXPECT_EQ(c.metrics_port, 8443);
}

// issue 19.1: what goes into every request header is bounded at start-up (Beast threw on 64 KiB);
// the error names the setting and its size, never its value (a secret).
TEST(importer_config, oversized_header_settings_are_refused_at_start_up_naming_only_their_size) {
    test::temp_dir dir;
    const std::string big(9 * 1024, 'v');
    const auto refused = [](const fake_env& e, const std::vector<std::string>& environ_entries, const std::string& names) {
        try {
            importer_config::from_env(e.lookup(), environ_entries);
            ADD_FAILURE() << "accepted: " << names;
        } catch (const std::invalid_argument& ex) {
            EXPECT_EQ(std::string(ex.what()).rfind(names, 0), 0u) << ex.what();
            EXPECT_EQ(std::string(ex.what()).find("vvvv"), std::string::npos);
        }
    };
    fake_env e{{{"CDI_EXTRA_HEADERS_DIR", (dir / "none").string()}}};
    refused(e, {"IMPORTER_EXTRA_HEADER_0=X-Big: " + big}, "an extra header (IMPORTER_EXTRA_HEADER_* or /extraheaders) is 9223 bytes long (at most 8192)");
    refused(e, {"IMPORTER_EXTRA_HEADER_0=A: " + std::string(6000, 'v'), "IMPORTER_EXTRA_HEADER_1=B: " + std::string(6000, 'v'),
                "IMPORTER_EXTRA_HEADER_2=C: " + std::string(6000, 'v')}, "the extra headers together");
    std::filesystem::create_directory(dir / "extraheaders");
    test::write_file(dir / "extraheaders" / "big", big.data(), big.size());
    refused(fake_env{{{"CDI_EXTRA_HEADERS_DIR", (dir / "extraheaders").string()}}}, {}, "an extra header");
    refused(fake_env{{{"CDI_EXTRA_HEADERS_DIR", (dir / "none").string()}, {"http_proxy", "http://u:" + big + "@p:3128"}}}, {}, "http_proxy is");
    refused(fake_env{{{"CDI_EXTRA_HEADERS_DIR", (dir / "none").string()}, {"HTTPS_PROXY", "http://u:" + big + "@p:3128"}}}, {}, "https_proxy is");
    refused(fake_env{{{"CDI_EXTRA_HEADERS_DIR", (dir / "none").string()}, {"IMPORTER_ACCESS_KEY_ID", "u"}, {"IMPORTER_SECRET_KEY", big}}}, {},
            "IMPORTER_SECRET_KEY is");
    // 8 KiB lines, 16 KiB in all, 4 KiB proxies are fine.
    EXPECT_NO_THROW(importer_config::from_env(e.lookup(), {"IMPORTER_EXTRA_HEADER_0=A: " + std::string(8000, 'v'),
                                                            "IMPORTER_EXTRA_HEADER_1=B: " + std::string(8000, 'v')}));
}

}  // namespace
}  // namespace cdi
