// qemu_img against the real qemu-img (images made at test time), and against fake qemu-img scripts
// (tests/fixtures/fake-qemu-img) for failures: a full target, a crash, a hang (security.md C11), a
// convert that writes nothing, cancellation. Command lines and the preallocation fallback are
// qemu_img_command_line_test.cpp; what a hostile image names is qemu_img_untrusted_test.cpp.
#include "convert/qemu_img.hpp"

#include "support/log_capture.hpp"
#include "support/qemu_img_fixtures.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint64_t Mi = 1024 * 1024;
using test::fake_qemu_img;
using test::make_qcow2;

bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

bool alive(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

pid_t read_pid(const fs::path& p) {
    auto text = test::read_file(p);
    return static_cast<pid_t>(std::stol(std::string(text.begin(), text.end())));
}

using test::q;

using test::log_capture;

// ---- real qemu-img ----

TEST(qemu_img, info_reads_a_qcow2) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto img = make_qcow2(dir, "a.qcow2", "64M");
    auto info = qemu_img().info(img, "qcow2");
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "qcow2");
    EXPECT_EQ(info->virtual_size, 64 * Mi);
    EXPECT_GT(info->actual_size, 0u);
    EXPECT_TRUE(info->backing_filename.empty());
    EXPECT_FALSE(info->has_data_file);
}

TEST(qemu_img, info_reads_a_raw_file) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    test::must_run("truncate -s 5M " + q(dir / "d.raw"));
    auto info = qemu_img().info(dir / "d.raw", "raw");
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "raw");
    EXPECT_EQ(info->virtual_size, 5 * Mi);
}

TEST(qemu_img, info_with_pinned_raw_ignores_an_inner_qcow2_header) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto img = make_qcow2(dir, "inner.qcow2", "1G");
    auto info = qemu_img().info(img, "raw");  // C6: our raw output may start with a qcow2 header
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "raw");
    EXPECT_EQ(info->virtual_size, fs::file_size(img));
}

TEST(qemu_img, info_reports_backing_and_data_files) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    test::must_run("truncate -s 1M " + q(dir / "base.raw"));
    test::must_run("qemu-img create -q -f qcow2 -b " + q(dir / "base.raw") + " -F raw " + q(dir / "back.qcow2") +
                   " 1M");
    test::must_run("qemu-img create -q -f qcow2 -o data_file=" + (dir / "data.raw").string() + " " +
                   q(dir / "df.qcow2") + " 1M");
    auto back = qemu_img().info(dir / "back.qcow2", "qcow2");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->backing_filename, (dir / "base.raw").string());
    auto df = qemu_img().info(dir / "df.qcow2", "qcow2");
    ASSERT_TRUE(df) << df.error().message();
    EXPECT_TRUE(df->has_data_file);
}

TEST(qemu_img, info_on_a_non_image_is_corrupt_image) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    test::must_run("head -c 4096 /dev/urandom > " + q(dir / "junk"));
    auto info = qemu_img().info(dir / "junk", "qcow2");
    ASSERT_FALSE(info);
    EXPECT_TRUE(info.error().is(errc::corrupt_image));
    EXPECT_TRUE(contains(info.error().context, "qcow2")) << info.error().context;
}

TEST(qemu_img, unknown_format_never_reaches_qemu) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "exit0-nowrite.sh");
    auto info = qemu_img(bin.string()).info(dir / "x", "raw,file.driver=nbd");
    ASSERT_FALSE(info);
    EXPECT_TRUE(info.error().is(errc::bad_request));
    EXPECT_TRUE(test::fake_log_lines(bin).empty());
}

TEST(qemu_img, check_passes_a_clean_qcow2_and_raw) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto img = make_qcow2(dir, "clean.qcow2");
    auto ok = qemu_img().check(img, "qcow2");
    EXPECT_TRUE(ok) << ok.error().message();
    test::must_run("truncate -s 1M " + q(dir / "d.raw"));
    auto raw = qemu_img().check(dir / "d.raw", "raw");  // exit 63: raw has no check
    EXPECT_TRUE(raw) << raw.error().message();
}

TEST(qemu_img, check_rejects_a_truncated_qcow2) {
    CDI_REQUIRE_TOOL("qemu-img");
    CDI_REQUIRE_TOOL("qemu-io");
    test::temp_dir dir;
    // security.md C10 recipe: info and convert accept this file; only check (exit 2) catches it.
    test::must_run("qemu-img create -q -f qcow2 " + q(dir / "t.qcow2") + " 64M");
    test::must_run("qemu-io -c 'write -P 0x55 0 8M' " + q(dir / "t.qcow2") + " >/dev/null");
    test::must_run("head -c 1M " + q(dir / "t.qcow2") + " > " + q(dir / "trunc.qcow2"));
    auto r = qemu_img().check(dir / "trunc.qcow2", "qcow2");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::corrupt_image));
    EXPECT_EQ(r.error().context, "qemu-img check -f qcow2 found the image corrupted: exit status 2");
}

TEST(qemu_img, convert_matches_qemu_img_byte_for_byte_and_reports_progress) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto img = make_qcow2(dir, "s.qcow2");
    test::must_run("qemu-img convert -f qcow2 -O raw " + q(img) + " " + q(dir / "ref.raw"));
    std::vector<double> seen;
    convert_options o;
    o.on_progress = [&](double pct) { seen.push_back(pct); };
    auto r = qemu_img().convert(img, "qcow2", dir / "out.raw", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(*r);  // no preallocation asked
    EXPECT_EQ(test::read_file(dir / "out.raw"), test::read_file(dir / "ref.raw"));
    ASSERT_FALSE(seen.empty());
    for (std::size_t i = 0; i < seen.size(); ++i) {
        EXPECT_GE(seen[i], 0.0);
        EXPECT_LE(seen[i], 100.0);
        if (i > 0) {
            EXPECT_GE(seen[i], seen[i - 1]);
        }
    }
    EXPECT_EQ(seen.back(), 100.0);
}

TEST(qemu_img, convert_with_try_none_uses_direct_io_and_still_matches) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    if (!qemu_img::supports_direct_io(dir / "probe")) GTEST_SKIP() << "no O_DIRECT under " << dir.path();
    EXPECT_FALSE(fs::exists(dir / "probe"));  // the probe file is removed
    const auto img = make_qcow2(dir, "s.qcow2");
    test::must_run("qemu-img convert -f qcow2 -O raw " + q(img) + " " + q(dir / "ref.raw"));
    convert_options o;
    o.cache = cache_mode::try_none;
    auto r = qemu_img().convert(img, "qcow2", dir / "out.raw", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(test::read_file(dir / "out.raw"), test::read_file(dir / "ref.raw"));
}

TEST(qemu_img, convert_with_preallocation_allocates_the_whole_target) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    const auto img = make_qcow2(dir, "s.qcow2");
    convert_options o;
    o.preallocate = true;
    auto r = qemu_img().convert(img, "qcow2", dir / "out.raw", o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(*r);
    EXPECT_EQ(fs::file_size(dir / "out.raw"), 8 * Mi);
    EXPECT_GE(test::allocated_bytes(dir / "out.raw"), 8 * Mi);
}

TEST(qemu_img, resize_grows_a_raw_file) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    test::must_run("truncate -s 1M " + q(dir / "d.raw"));
    auto r = qemu_img().resize(dir / "d.raw", 4 * Mi, false);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::file_size(dir / "d.raw"), 4 * Mi);
    EXPECT_LT(test::allocated_bytes(dir / "d.raw"), 4 * Mi);
    auto p = qemu_img().resize(dir / "d.raw", 8 * Mi, true);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(fs::file_size(dir / "d.raw"), 8 * Mi);
    EXPECT_GE(test::allocated_bytes(dir / "d.raw"), 4 * Mi);  // the grown part is allocated
}

TEST(qemu_img, create_raw_makes_a_blank_disk) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    auto r = qemu_img().create_raw(dir / "blank.raw", 3 * Mi, false);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(fs::file_size(dir / "blank.raw"), 3 * Mi);
    EXPECT_LE(test::allocated_bytes(dir / "blank.raw"), 64 * 1024u);  // qemu-img writes the first block only
    auto p = qemu_img().create_raw(dir / "pre.raw", 3 * Mi, true);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(fs::file_size(dir / "pre.raw"), 3 * Mi);
    EXPECT_GE(test::allocated_bytes(dir / "pre.raw"), 3 * Mi);
}

TEST(qemu_img, a_convert_failure_names_our_class_and_the_exit_status_and_logs_qemus_words) {
    CDI_REQUIRE_TOOL("qemu-img");
    test::temp_dir dir;
    log_capture log;
    auto r = qemu_img().convert(dir / "missing.qcow2", "qcow2", dir / "out.raw", {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_EQ(r.error().context, "qemu-img convert -f qcow2 failed: exit status 1");  // no host path
    EXPECT_TRUE(contains(log.text(), "Could not open")) << log.text();
    EXPECT_TRUE(contains(log.text(), (dir / "missing.qcow2").string())) << log.text();
}

TEST(qemu_img, parse_progress_accepts_only_qemu_progress_lines) {
    EXPECT_EQ(qemu_img::parse_progress("    (45.34/100%)"), 45.34);
    EXPECT_EQ(qemu_img::parse_progress("(0.00/100%)"), 0.0);
    EXPECT_EQ(qemu_img::parse_progress("    (100.00/100%)"), 100.0);
    EXPECT_FALSE(qemu_img::parse_progress("45.34"));
    EXPECT_FALSE(qemu_img::parse_progress("(45.3/100%)"));
    EXPECT_FALSE(qemu_img::parse_progress("(450.34/100%)"));
    EXPECT_FALSE(qemu_img::parse_progress("(4a.34/100%)"));
    EXPECT_FALSE(qemu_img::parse_progress("(-1.00/100%)"));
}

// ---- fake qemu-img: argv ----

TEST(qemu_img, full_target_is_no_space) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "enospc.sh");
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::no_space));  // classified from qemu's words, which stay in the log
    EXPECT_EQ(r.error().context, "qemu-img convert -f qcow2 failed: exit status 1");
}

// ---- fake qemu-img: security.md C11 ----

TEST(qemu_img, crash_mid_convert_is_convert_failed) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "segv-at-50.sh");
    std::vector<double> seen;
    convert_options o;
    o.on_progress = [&](double pct) { seen.push_back(pct); };
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::convert_failed));
    EXPECT_EQ(r.error().context, "qemu-img convert -f qcow2 failed: killed by signal 11 (SIGSEGV)");
    EXPECT_EQ(seen, (std::vector<double>{0.0, 10.0, 25.0, 50.0}));
}

TEST(qemu_img, hung_convert_is_killed_with_its_whole_group) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "hang.sh");
    convert_options o;
    o.no_progress_timeout = 2s;
    const auto start = std::chrono::steady_clock::now();
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::timeout));
    EXPECT_EQ(r.error().context, "qemu-img made no progress for 2s: killed");
    EXPECT_LT(took, 5s);
    const pid_t leader = read_pid(bin.string() + ".pid");
    const pid_t grandchild = read_pid(bin.string() + ".grandchild");
    for (int i = 0; i < 100 && (alive(leader) || alive(grandchild)); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(alive(leader));
    EXPECT_FALSE(alive(grandchild));
    std::istringstream members(test::run_command("pgrep -g " + std::to_string(leader)).output);
    for (pid_t pid; members >> pid;) EXPECT_FALSE(alive(pid)) << "pid " << pid << " survived in the group";
}

TEST(qemu_img, convert_that_writes_nothing_is_left_to_the_callers_size_check) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "exit0-nowrite.sh");
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", {});
    // The wrapper can only report qemu-img's exit 0; import_job's post-convert check (target size
    // and virtual size) turns this into E_CONVERT_FAILED.
    ASSERT_TRUE(r);
    EXPECT_FALSE(fs::exists(dir / "t.raw"));
}

TEST(qemu_img, canceled_convert_is_canceled) {
    test::temp_dir dir;
    const auto bin = fake_qemu_img(dir, "hang.sh");
    cancel_token cancel;
    cancel.cancel();
    convert_options o;
    o.cancel = &cancel;
    auto r = qemu_img(bin.string()).convert(dir / "s.qcow2", "qcow2", dir / "t.raw", o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::canceled));
}

}  // namespace
}  // namespace cdi
