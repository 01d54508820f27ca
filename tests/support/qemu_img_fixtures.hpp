#pragma once
// qemu_img test helpers shared by tests/convert/qemu_img_test.cpp and qemu_img_untrusted_test.cpp:
// small qcow2s made with the real qemu-img/qemu-io, and fake qemu-img scripts
// (tests/fixtures/fake-qemu-img) copied into a test's own directory.
#include "support/test_env.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cdi::test {

// A qcow2 of `size` with some data written at two offsets (qemu-io), so holes and data both occur.
inline std::filesystem::path make_qcow2(const temp_dir& dir, const std::string& name, const std::string& size = "8M") {
    const std::filesystem::path p = dir / name;
    const std::string quoted = "'" + p.string() + "'";
    must_run("qemu-img create -q -f qcow2 " + quoted + " " + size);
    must_run("qemu-io -c 'write -P 0x55 0 1M' -c 'write -P 0xaa 3M 512k' " + quoted + " >/dev/null");
    return p;
}

// A fake qemu-img copied into dir/bin/qemu-img (so its log and config files are this test's own).
inline std::filesystem::path fake_qemu_img(const temp_dir& dir, const std::string& script) {
    std::filesystem::create_directories(dir / "bin");
    const std::filesystem::path dst = dir / "bin" / "qemu-img";
    std::filesystem::copy_file(std::filesystem::path(CDI_SOURCE_DIR) / "tests/fixtures/fake-qemu-img" / script, dst);
    return dst;
}

// The argv lines a fake qemu-img logged, one call per line.
inline std::vector<std::string> fake_log_lines(const std::filesystem::path& fake_bin) {
    std::ifstream in(fake_bin.string() + ".log");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

}  // namespace cdi::test
