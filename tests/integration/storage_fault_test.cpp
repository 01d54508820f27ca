// Storage that fails (issue 17, "Faults"): the target volume on a FUSE filesystem whose write(2) or
// fsync(2) fails with EIO, or whose writes hit ENOSPC, under the real binaries. Every fault must end
// in its specified state: the importer exits 1 with the class in its termination message, the upload
// server answers 500 (or CDI's capacity 400 for a full volume), nothing says Complete, and no
// disk.img is left on the volume. Each of the three target writers is covered: target_sink (a
// compressed raw), positional_target (a qcow2 decoded as it arrives) and qemu-img (CDI_CONVERTER).
#include "support/faulty_mount.hpp"
#include "support/importer_process.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::q;

struct fault_case {
    const char* kind;   // the fault faulty_fs injects
    const char* klass;  // the class the job must name
    const char* cause;  // and the words naming the cause
};

const fault_case write_eio{"write-eio", "E_IO", "Input/output error"};
const fault_case write_enospc{"write-enospc", "E_NO_SPACE", "No space left on device"};
const fault_case fsync_eio{"fsync-eio", "E_IO", "fsync"};

class storage_fault_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (auto why = test::faulty_mount::skip_reason(); !why.empty()) GTEST_SKIP() << why;
        CDI_REQUIRE_TOOL("qemu-img");
        fs::create_directories(dir_ / "scratch");
        must_run("head -c 3M /dev/urandom > " + q(dir_ / "disk.raw") + " && truncate -s 8M " + q(dir_ / "disk.raw"));
        must_run("gzip -1 -c " + q(dir_ / "disk.raw") + " > " + q(dir_ / "disk.raw.gz"));
        must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
        must_run("gzip -1 -c " + q(dir_ / "disk.qcow2") + " > " + q(dir_ / "disk.qcow2.gz"));
    }

    // Imports `input` onto a volume failing as `fc` says after `after` bytes written; checks the
    // outcome. on_scratch: the failing volume is the scratch volume and the target is healthy.
    void expect_import_fails(const fault_case& fc, const std::string& input, std::map<std::string, std::string> extra = {},
                             std::uint64_t after = 1 << 20, bool on_scratch = false) {
        SCOPED_TRACE(std::string(fc.kind) + " after " + std::to_string(after) + " bytes importing " + input +
                     (on_scratch ? " (scratch)" : ""));
        const fs::path backing = dir_ / "volume", mnt = dir_ / "mnt", healthy = dir_ / "healthy";
        fs::remove_all(backing);
        fs::remove_all(healthy);
        fs::create_directories(healthy);
        test::faulty_mount m(backing, mnt, fc.kind, after);
        ASSERT_TRUE(m.mounted()) << m.log();
        extra["IMPORTER_SOURCE"] = "file";
        extra["IMPORTER_ENDPOINT"] = (dir_ / input).string();
        extra["CDI_DATA_DIR"] = (on_scratch ? healthy : mnt).string();
        extra["CDI_SCRATCH_DIR"] = (on_scratch ? mnt : dir_ / "scratch").string();
        auto o = test::run_importer(dir_.path(), std::move(extra));
        EXPECT_EQ(o.status, 1) << o.log;
        EXPECT_NE(o.message.find(fc.klass), std::string::npos) << o.message;
        EXPECT_NE(o.message.find(fc.cause), std::string::npos) << o.message;
        EXPECT_EQ(o.message.find("Complete"), std::string::npos) << o.message;
        EXPECT_FALSE(fs::exists(backing / "disk.img")) << o.log;
        EXPECT_FALSE(fs::exists(healthy / "disk.img")) << o.log;
        EXPECT_TRUE(fs::is_empty(on_scratch ? backing : dir_ / "scratch"));
    }

    test::temp_dir dir_;
};

// The control: the same volume without a fault imports every way, so the failures below are the
// faults' and not the FUSE passthrough's.
TEST_F(storage_fault_test, without_a_fault_the_volume_takes_every_target_writer) {
    for (auto [input, converter] : {std::pair{"disk.raw.gz", "stream"}, std::pair{"disk.qcow2.gz", "stream"},
                                    std::pair{"disk.qcow2.gz", "qemu-img"}}) {
        SCOPED_TRACE(std::string(input) + " " + converter);
        const fs::path backing = dir_ / "volume", mnt = dir_ / "mnt";
        fs::remove_all(backing);
        test::faulty_mount m(backing, mnt, "none");
        ASSERT_TRUE(m.mounted()) << m.log();
        auto o = test::run_importer(dir_.path(), {{"IMPORTER_SOURCE", "file"}, {"IMPORTER_ENDPOINT", (dir_ / input).string()},
                                                  {"CDI_DATA_DIR", mnt.string()}, {"CDI_CONVERTER", converter}});
        EXPECT_EQ(o.status, 0) << o.log;
        EXPECT_NE(o.message.find("Import Complete"), std::string::npos) << o.message;
        EXPECT_EQ(test::read_file(backing / "disk.img"), test::read_file(dir_ / "disk.raw"));
    }
}

// At the first byte, inside the first write, at a chunk boundary and near the end of the data.
constexpr std::uint64_t fault_points[] = {0, 65537, 1 << 20, (3 << 20) - 4096};  // the data is 3 MiB, then a hole

TEST_F(storage_fault_test, a_write_error_fails_every_target_writer_with_e_io_and_leaves_no_target) {
    for (std::uint64_t after : fault_points) {
        expect_import_fails(write_eio, "disk.raw.gz", {}, after);
        expect_import_fails(write_eio, "disk.qcow2.gz", {}, after);
    }
}

TEST_F(storage_fault_test, a_full_volume_fails_every_target_writer_with_e_no_space_and_leaves_no_target) {
    for (std::uint64_t after : fault_points) {
        expect_import_fails(write_enospc, "disk.raw.gz", {}, after);
        expect_import_fails(write_enospc, "disk.qcow2.gz", {}, after);
    }
}

TEST_F(storage_fault_test, a_full_or_failing_scratch_volume_fails_the_staged_import_and_frees_it) {
    const std::map<std::string, std::string> qemu{{"CDI_CONVERTER", "qemu-img"}};
    for (std::uint64_t after : fault_points) {
        expect_import_fails({"write-enospc", "E_NO_SPACE", "scratch"}, "disk.qcow2.gz", qemu, after, true);
        expect_import_fails(write_eio, "disk.qcow2.gz", qemu, after, true);
    }
}

TEST_F(storage_fault_test, an_fsync_error_is_never_reported_complete) {
    expect_import_fails(fsync_eio, "disk.raw.gz");
    expect_import_fails(fsync_eio, "disk.qcow2.gz");
}

TEST_F(storage_fault_test, qemu_img_writing_a_failing_volume_fails_the_import_and_leaves_no_target) {
    // Staged to scratch (on healthy storage), then qemu-img convert writes the failing target: its
    // failure is E_CONVERT_FAILED (ENOSPC read from its stderr is E_NO_SPACE); the fsync that follows
    // it is ours.
    const std::map<std::string, std::string> qemu{{"CDI_CONVERTER", "qemu-img"}};
    expect_import_fails({"write-eio", "E_CONVERT_FAILED", "qemu-img convert"}, "disk.qcow2.gz", qemu);
    expect_import_fails({"write-enospc", "E_NO_SPACE", "qemu-img convert"}, "disk.qcow2.gz", qemu);
    expect_import_fails(fsync_eio, "disk.qcow2.gz", qemu);
}

class storage_fault_upload_test : public test::upload_server_fixture {
protected:
    void SetUp() override {
        if (auto why = test::faulty_mount::skip_reason(); !why.empty()) GTEST_SKIP() << why;
        upload_server_fixture::SetUp();
    }

    // Uploads disk.raw onto a volume failing as `fc` says after 1 MiB written; checks the answer.
    void expect_upload_fails(const fault_case& fc, const std::string& status) {
        SCOPED_TRACE(fc.kind);
        const fs::path backing = dir_ / (std::string("volume-") + fc.kind), mnt = dir_ / (std::string("mnt-") + fc.kind);
        test::faulty_mount m(backing, mnt, fc.kind, 1 << 20);
        ASSERT_TRUE(m.mounted()) << m.log();
        auto& s = start({{"CDI_DATA_DIR", mnt.string()}});
        EXPECT_EQ(upload(dir_ / "disk.raw"), status) << body() << s.log();
        EXPECT_NE(body().find(fc.klass), std::string::npos) << body();
        EXPECT_NE(body().find(fc.cause), std::string::npos) << body();
        EXPECT_FALSE(fs::exists(backing / "disk.img")) << s.log();
        EXPECT_EQ(test::slurp(dir_ / "termination-log").find("Complete"), std::string::npos);
        server_.reset();  // stopped before its volume goes
    }
};

TEST_F(storage_fault_upload_test, without_a_fault_the_volume_takes_the_upload) {
    const fs::path backing = dir_ / "volume", mnt = dir_ / "mnt";
    test::faulty_mount m(backing, mnt, "none");
    ASSERT_TRUE(m.mounted()) << m.log();
    auto& s = start({{"CDI_DATA_DIR", mnt.string()}});
    EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(backing / "disk.img"), test::read_file(dir_ / "disk.raw"));
    server_.reset();
}

TEST_F(storage_fault_upload_test, a_write_error_is_a_500_naming_e_io_and_leaves_no_target) { expect_upload_fails(write_eio, "500"); }

TEST_F(storage_fault_upload_test, a_full_volume_is_cdis_capacity_400_and_leaves_no_target) { expect_upload_fails(write_enospc, "400"); }

TEST_F(storage_fault_upload_test, an_fsync_error_is_a_500_and_never_a_200) { expect_upload_fails(fsync_eio, "500"); }

}  // namespace
}  // namespace cdi
