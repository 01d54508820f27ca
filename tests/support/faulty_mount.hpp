#pragma once
// A FUSE filesystem that fails on command (tests/support/faulty_fs.cpp) mounted for one test: the
// jobs' volumes are put on it so that write(2) or fsync(2) fail the way a failing disk's do.
// Mounted in the constructor (mounted() says whether it worked), unmounted and its daemon reaped in
// the destructor. Needs root, /dev/fuse and the faulty_fs helper (built when libfuse3 is found):
// skip_reason() names what is missing.
#include "support/child_process.hpp"
#include "support/test_env.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

namespace cdi::test {

class faulty_mount {
public:
    // kind: write-eio | write-enospc | fsync-eio | none; after: bytes written in all before the fault.
    faulty_mount(const std::filesystem::path& backing, const std::filesystem::path& mountpoint, const std::string& kind,
                 std::uint64_t after = 0)
        : mountpoint_(mountpoint) {
        std::filesystem::create_directories(backing);
        std::filesystem::create_directories(mountpoint);
        daemon_.emplace(std::vector<std::string>{helper, backing.string(), mountpoint.string(), kind, std::to_string(after)},
                        std::map<std::string, std::string>{}, mountpoint.parent_path() / (mountpoint.filename().string() + ".log"));
        for (int i = 0; i < 200 && !mounted(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    faulty_mount(const faulty_mount&) = delete;
    faulty_mount& operator=(const faulty_mount&) = delete;
    ~faulty_mount() {
        if (mounted()) ::umount2(mountpoint_.c_str(), MNT_DETACH);
        if (daemon_) daemon_->wait(std::chrono::seconds(10));
    }

    bool mounted() const {
        std::ifstream mounts("/proc/mounts");
        for (std::string dev, dir, rest; mounts >> dev >> dir && std::getline(mounts, rest);) {
            if (dev == "faulty_fs" && dir == mountpoint_.string()) return true;
        }
        return false;
    }
    std::string log() const { return daemon_ ? daemon_->log() : std::string(); }

    // Empty when a FUSE mount can be made here; otherwise what is missing.
    static std::string skip_reason() {
        if (::geteuid() != 0) return "needs root to mount FUSE";
        if (!std::filesystem::exists("/dev/fuse")) return "needs /dev/fuse";
        if (!std::filesystem::exists(helper)) return "needs the faulty_fs helper, built when libfuse3-dev is installed (scripts/setup.sh)";
        return {};
    }

private:
    static constexpr const char* helper = CDI_BINARY_DIR "/tests/faulty_fs";
    std::filesystem::path mountpoint_;
    std::optional<child_process> daemon_;
};

}  // namespace cdi::test
