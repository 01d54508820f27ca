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
    EXPECT_EQ(c.owner_uid, "uid-1");
}

TEST(importer_config, a_missing_scratch_mount_means_no_scratch_and_an_existing_block_path_means_block_mode) {
    test::temp_dir dir;
    test::write_file(dir / "blockdev", "x", 1);
    fake_env e{{{"CDI_SCRATCH_DIR", (dir / "absent").string()}, {"CDI_BLOCK_DEVICE", (dir / "blockdev").string()}}};
    auto c = importer_config::from_env(e.lookup());
    EXPECT_FALSE(c.spec.scratch_dir.has_value());
    EXPECT_EQ(c.spec.target, dir / "blockdev");
}

TEST(importer_config, rejects_invalid_values_naming_the_variable) {
    for (auto [name, value] : std::map<std::string, std::string>{{"PREALLOCATION", "yes"},
                                                                 {"FILESYSTEM_OVERHEAD", "abc"},
                                                                 {"IMPORTER_IMAGE_SIZE", "12Q"},
                                                                 {"IMPORTER_CONTENTTYPE", "zip"}}) {
        fake_env e{{{name, value}, {"CDI_SCRATCH_DIR", "/nonexistent"}}};
        try {
            importer_config::from_env(e.lookup());
            ADD_FAILURE() << name << " accepted";
        } catch (const std::invalid_argument& ex) {
            EXPECT_NE(std::string(ex.what()).find(name), std::string::npos) << ex.what();
        }
    }
}

TEST(parse_go_bool, accepts_gos_spellings) {
    for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_TRUE(parse_go_bool("X", t));
    for (const char* f : {"", "0", "f", "F", "FALSE", "false", "False"}) EXPECT_FALSE(parse_go_bool("X", f));
}

}  // namespace
}  // namespace cdi
