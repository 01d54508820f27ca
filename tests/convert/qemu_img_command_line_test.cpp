// qemu_img's command lines, against fake qemu-img scripts (tests/fixtures/fake-qemu-img): every call
// pins the format and passes absolute paths, the O_DIRECT and block-target flags, and the
// preallocation fallback (falloc → full → sparse zero). Real qemu-img runs are qemu_img_test.cpp.
#include "convert/qemu_img.hpp"

#include "support/qemu_img_fixtures.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t Mi = 1024 * 1024;
using test::fake_qemu_img;

bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

TEST(qemu_img, every_call_pins_the_format_and_passes_absolute_paths) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "exit0-nowrite.sh");
    const qemu_img tool(bin.string());
    (void)tool.info("-rel/x.qcow2", "qcow2");
    (void)tool.check("json:{}", "qcow2");
    (void)tool.convert(dir / "s.qcow2", "qcow2", dir / "t.raw", {});
    (void)tool.resize(dir / "t.raw", 4 * Mi, false);
    (void)tool.create_raw(dir / "b.raw", 4 * Mi, false);
    const auto cwd = fs::current_path().string();
    const auto s = (dir / "s.qcow2").string(), t = (dir / "t.raw").string(), b = (dir / "b.raw").string();
    const auto src = [](const std::string& file) {
        return "json:{\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"" + file + "\"}}";
    };
    EXPECT_EQ(test::fake_log_lines(bin), (std::vector<std::string>{
                                  "info -f qcow2 --output=json " + src(cwd + "/-rel/x.qcow2"),
                                  "check -f qcow2 " + src(cwd + "/json:{}"),
                                  "convert -f qcow2 -O raw -t writeback -p " + src(s) + " " + t,
                                  "resize -f raw " + t + " 4194304",
                                  "create -f raw " + b + " 4194304",
                              }));
}

TEST(qemu_img, try_none_adds_direct_io_flags_when_the_target_takes_o_direct) {
    test::temp_dir dir;
    if (!qemu_img::supports_direct_io(dir / "probe")) GTEST_SKIP() << "no O_DIRECT under " << dir.path();
    const auto bin = fake_qemu_img(dir, "exit0-nowrite.sh");
    convert_options o;
    o.cache = cache_mode::try_none;
    ASSERT_TRUE(qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o));
    auto lines = test::fake_log_lines(bin);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_TRUE(contains(lines[0], " -t none -p -W -m 16 ")) << lines[0];
}

TEST(qemu_img, existing_block_target_gets_n_and_sparse_zero_instead_of_o) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "exit0-nowrite.sh");
    convert_options o;
    o.target_exists = true;
    o.preallocate = true;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    auto lines = test::fake_log_lines(bin);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "convert -S 0 -f qcow2 -O raw -t writeback -p -n json:{\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"" +
                            (dir / "s.qcow2").string() + "\"}} " + (dir / "t.raw").string());
}

// ---- fake qemu-img: preallocation fallback (contract 2.5) ----

TEST(qemu_img, preallocation_falls_back_from_falloc_to_full) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "prealloc.sh");
    std::ofstream(bin.string() + ".unsupported") << "falloc\n";
    convert_options o;
    o.preallocate = true;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(*r);
    auto lines = test::fake_log_lines(bin);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_TRUE(lines[0].starts_with("convert -o preallocation=falloc -f qcow2 -O raw")) << lines[0];
    EXPECT_TRUE(lines[1].starts_with("convert -o preallocation=full -f qcow2 -O raw")) << lines[1];
}

TEST(qemu_img, preallocation_falls_back_to_sparse_zero_last) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "prealloc.sh");
    std::ofstream(bin.string() + ".unsupported") << "falloc\nfull\n";
    convert_options o;
    o.preallocate = true;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_TRUE(r) << r.error().message();
    auto lines = test::fake_log_lines(bin);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_TRUE(lines[2].starts_with("convert -S 0 -f qcow2 -O raw")) << lines[2];
}

TEST(qemu_img, preallocation_unsupported_everywhere_fails_with_qemus_text) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "prealloc.sh");
    std::ofstream(bin.string() + ".unsupported") << "falloc\nfull\nsparse0\n";
    convert_options o;
    o.preallocate = true;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_EQ(r.error().context, "qemu-img convert -f qcow2 failed: exit status 1");
    EXPECT_EQ(test::fake_log_lines(bin).size(), 3u);
}

TEST(qemu_img, other_errors_stop_the_preallocation_fallback) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "prealloc.sh");
    std::ofstream(bin.string() + ".broken") << "falloc\n";
    convert_options o;
    o.preallocate = true;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "qemu-img convert -f qcow2 failed: exit status 1");
    EXPECT_EQ(test::fake_log_lines(bin).size(), 1u);
}

TEST(qemu_img, resize_and_create_fall_back_from_falloc_to_full) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "prealloc.sh");
    std::ofstream(bin.string() + ".unsupported") << "falloc\n";
    const qemu_img tool(bin.string());
    ASSERT_TRUE(tool.resize(dir / "t.raw", 4 * Mi, true));
    ASSERT_TRUE(tool.create_raw(dir / "b.raw", 4 * Mi, true));
    const auto t = (dir / "t.raw").string(), b = (dir / "b.raw").string();
    EXPECT_EQ(test::fake_log_lines(bin), (std::vector<std::string>{
                                  "resize -f raw --preallocation=falloc " + t + " 4194304",
                                  "resize -f raw --preallocation=full " + t + " 4194304",
                                  "create -f raw -o preallocation=falloc " + b + " 4194304",
                                  "create -f raw -o preallocation=full " + b + " 4194304",
                              }));
}

}  // namespace
}  // namespace cdi
