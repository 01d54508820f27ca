#pragma once
// Test fixtures that touch the real system: temporary directories, shell commands that make images
// with the real tools (qemu-img, gzip, xz, zstd), loop devices, and skips with a reason when a tool
// or root is missing.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdi::test {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR (or /var/tmp, a disk filesystem: /tmp may be tmpfs, where
// O_DIRECT and some fallocate modes are missing), removed with everything in it on destruction.
class temp_dir {
public:
    temp_dir() {
        const char* base = std::getenv("CDI_TEST_TMPDIR");
        std::string tmpl = std::string(base ? base : "/var/tmp") + "/cdi-test-XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

// Sets an environment variable for the scope, restoring its previous value (or absence) after.
class scoped_env {
public:
    scoped_env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
    ~scoped_env() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

struct command_result {
    int status = -1;     // exit status, or -1 when the command could not run
    std::string output;  // stdout and stderr together
};

// A path (or any word) single-quoted for a shell command line; an embedded ' is closed, escaped
// and reopened ('\'').
inline std::string q(const fs::path& p) {
    std::string out = "'";
    for (char c : p.string()) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command line; stdout and stderr are captured together.
inline command_result run_command(const std::string& cmd) {
    command_result r;
    std::string full = "( " + cmd + " ) 2>&1";
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

// Runs a command that must succeed (a fixture step); throws with its output otherwise.
inline std::string must_run(const std::string& cmd) {
    auto r = run_command(cmd);
    if (r.status != 0) throw std::runtime_error("fixture command failed (" + std::to_string(r.status) + "): " + cmd + "\n" + r.output);
    return r.output;
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released), for peers
// that must be told their port up front; callers retry when another process took it meanwhile.
inline unsigned short free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot pick a free port on 127.0.0.1");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

inline bool have_tool(const std::string& name) {
    return run_command("command -v " + name + " >/dev/null").status == 0;
}

inline std::vector<char> read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The file's content as text; empty when it cannot be read.
inline std::string slurp(const fs::path& p) {
    auto v = read_file(p);
    return {v.begin(), v.end()};
}

// The file's content as std::byte (the type test_stages.hpp calls bytes).
inline std::vector<std::byte> read_file_bytes(const fs::path& p) {
    auto v = read_file(p);
    std::vector<std::byte> b(v.size());
    if (!v.empty()) std::memcpy(b.data(), v.data(), v.size());
    return b;
}

inline void write_file(const fs::path& p, const void* data, std::size_t n) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
}

// Bytes of the file actually allocated on disk (st_blocks), to check sparseness.
inline std::uint64_t allocated_bytes(const fs::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

// A loop device over a backing file of the given size; detached on destruction. Needs root.
class loop_device {
public:
    loop_device(const fs::path& backing, std::uint64_t size) {
        must_run("truncate -s " + std::to_string(size) + " '" + backing.string() + "'");
        auto out = must_run("losetup --find --show '" + backing.string() + "'");
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        dev_ = out;
    }
    loop_device(const loop_device&) = delete;
    loop_device& operator=(const loop_device&) = delete;
    ~loop_device() {
        if (!dev_.empty()) run_command("losetup -d '" + dev_.string() + "'");
    }
    const fs::path& path() const { return dev_; }

private:
    fs::path dev_;
};

inline bool can_use_loop_devices() {
    return ::geteuid() == 0 && run_command("losetup -f >/dev/null").status == 0;
}

}  // namespace cdi::test

#define CDI_REQUIRE_TOOL(name) \
    do { if (!::cdi::test::have_tool(name)) GTEST_SKIP() << "needs " name " on PATH"; } while (0)
#define CDI_REQUIRE_LOOP() \
    do { if (!::cdi::test::can_use_loop_devices()) GTEST_SKIP() << "needs root and a free loop device"; } while (0)
