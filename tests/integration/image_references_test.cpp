// Issue 12 item 2 through both binaries: an image naming a parent or an extent (a host path, a
// listening 127.0.0.1 port) is refused as E_UNSAFE_IMAGE before qemu-img could open what it names, and
// qemu-img's own stderr (which names such paths and addresses) reaches the log only, never the upload
// server's 400 body or the importer's termination message.
#include "support/hostile_images.hpp"
#include "support/importer_process.hpp"
#include "support/open_watch.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace cdi {
namespace {

namespace fs = std::filesystem;
namespace h = test::hostile;
using namespace std::chrono_literals;
using test::must_run;
using test::q;

// What tests/fixtures/fake-qemu-img/stderr-names-address.sh prints on stderr.
constexpr std::string_view fake_path = "/var/run/secret-host-path/img";
constexpr std::string_view fake_address = "127.0.0.1:10999";

class image_references_test : public test::upload_server_fixture {
protected:
    // A VMDK whose descriptor names nbd://127.0.0.1:<listener> as its parent in a comment line (qemu
    // finds it with strstr; the line check took comments as harmless).
    fs::path vmdk_with_parent_at(const test::connection_counter& listener) {
        const fs::path sub = dir_ / "img";
        fs::create_directories(sub);
        return h::vmdk_patched_descriptor(sub, "#DDB", "#parentFileNameHint=\"nbd://127.0.0.1:" + std::to_string(listener.port()) + "\"");
    }

    // PATH with tests/fixtures/fake-qemu-img/stderr-names-address.sh as qemu-img first.
    std::string path_with_failing_qemu_img() {
        const fs::path bin = dir_ / "fakebin";
        fs::create_directories(bin);
        fs::copy_file(fs::path(CDI_SOURCE_DIR) / "tests/fixtures/fake-qemu-img/stderr-names-address.sh", bin / "qemu-img");
        return bin.string() + ":" + std::getenv("PATH");
    }

    test::importer_outcome import_file(const fs::path& image, std::map<std::string, std::string> extra = {}) {
        extra.emplace("IMPORTER_SOURCE", "file");
        extra.emplace("IMPORTER_ENDPOINT", image.string());
        return test::run_importer(dir_.path(), std::move(extra));
    }
};

TEST_F(image_references_test, an_uploaded_vmdk_naming_a_parent_at_a_listening_port_gets_400_unsafe_and_no_connection) {
    test::connection_counter listener;
    const auto img = vmdk_with_parent_at(listener);
    auto& s = start();
    EXPECT_EQ(upload(img), "400") << s.log();
    EXPECT_NE(body().find("E_UNSAFE_IMAGE"), std::string::npos) << body();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(listener.count(), 0);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(image_references_test, an_uploaded_zero_capacity_vmdk_naming_a_host_file_gets_400_unsafe_and_the_file_is_never_opened) {
    const fs::path victim = dir_ / "victim.raw";
    must_run("head -c 4M /dev/urandom > " + q(victim));
    const fs::path sub = dir_ / "img";
    fs::create_directories(sub);
    const auto img = h::vmdk_zero_capacity_naming(sub, victim.string());
    auto& s = start();
    test::open_watch watch(victim);
    EXPECT_EQ(upload(img), "400") << s.log();
    EXPECT_NE(body().find("E_UNSAFE_IMAGE"), std::string::npos) << body();
    EXPECT_EQ(watch.count(), 0);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(image_references_test, qemu_img_stderr_reaches_the_upload_log_never_the_400_body) {
    must_run("qemu-img convert -f raw -O vdi " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.vdi"));  // staged: qemu-img runs
    auto& s = start({{"PATH", path_with_failing_qemu_img()}});
    EXPECT_EQ(upload(dir_ / "disk.vdi"), "400") << s.log();
    EXPECT_NE(body().find("E_CORRUPT_IMAGE"), std::string::npos) << body();
    EXPECT_EQ(body().find(fake_path), std::string::npos) << body();
    EXPECT_EQ(body().find(fake_address), std::string::npos) << body();
    EXPECT_EQ(body().find("qemu-img:"), std::string::npos) << body();
    EXPECT_TRUE(s.log_has(std::string(fake_address))) << s.log();
    s.signal(SIGTERM);
    EXPECT_EQ(s.wait(), 1) << s.log();
}

TEST_F(image_references_test, an_imported_vmdk_naming_a_parent_at_a_listening_port_exits_1_unsafe_without_connecting) {
    test::connection_counter listener;
    auto o = import_file(vmdk_with_parent_at(listener));
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: E_UNSAFE_IMAGE: ", 0), 0u) << o.message;
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(listener.count(), 0);
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(image_references_test, qemu_img_stderr_reaches_the_importer_log_never_the_termination_message) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(dir_ / "disk.raw") + " " + q(dir_ / "disk.qcow2"));
    auto o = import_file(dir_ / "disk.qcow2", {{"PATH", path_with_failing_qemu_img()}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: E_CORRUPT_IMAGE: ", 0), 0u) << o.message;
    EXPECT_EQ(o.message.find(fake_path), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find(fake_address), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find("qemu-img:"), std::string::npos) << o.message;
    EXPECT_NE(o.log.find(fake_address), std::string::npos) << o.log;
}

}  // namespace
}  // namespace cdi
