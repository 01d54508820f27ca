#pragma once
// The tar-wrapped disks of issue 18, built in a folder by tests/support/tar_disks.py from a 4 MiB
// raw disk (data runs between zeros) and its streamOptimized VMDK made by qemu-img:
//   v1.ova v2.ova gzip.ova disk-first.ova (import to the VMDK's raw conversion), one-file.tar
//   (imports to disk.raw), and the refusals two-disks.ova missing.ova wrong-size.ova bomb.ova gzip-undeclared.ova
//   disk-first-other.ova two-files.tar symlink.tar.
// `expected_vmdk` is `qemu-img convert -f vmdk -O raw` of the disk alone.
#include "support/test_env.hpp"

#include <filesystem>
#include <vector>

namespace cdi::test {

struct tar_disks {
    std::filesystem::path dir;
    std::vector<char> raw;            // disk.raw
    std::vector<char> expected_vmdk;  // qemu-img's raw conversion of disk.vmdk

    std::filesystem::path operator/(const char* name) const { return dir / name; }
};

inline tar_disks make_tar_disks(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    const auto raw = dir / "disk.raw";
    must_run("truncate -s 4M " + q(raw) + " && head -c 1M /dev/urandom | dd of=" + q(raw) +
             " conv=notrunc status=none && head -c 256K /dev/urandom | dd of=" + q(raw) +
             " bs=256K seek=10 conv=notrunc status=none");
    must_run("qemu-img convert -f raw -O vmdk -o subformat=streamOptimized " + q(raw) + " " + q(dir / "disk.vmdk"));
    must_run("qemu-img convert -f vmdk -O raw " + q(dir / "disk.vmdk") + " " + q(dir / "expected.raw"));
    must_run("/usr/bin/python3 " CDI_SOURCE_DIR "/tests/support/tar_disks.py " + q(dir));
    tar_disks out{dir, read_file(raw), read_file(dir / "expected.raw")};
    std::filesystem::remove(dir / "expected.raw");
    return out;
}

}  // namespace cdi::test
