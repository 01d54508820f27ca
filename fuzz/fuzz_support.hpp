#pragma once
// Shared by the libFuzzer harnesses of fuzz/: the input as bytes, as a file (the image parsers read
// files), a source drained to its end, a positional output kept in memory, and a child command whose
// output is captured (the differential harnesses run qemu-img). A harness finding aborts (ASan, UBSan,
// or fuzz_check for a broken invariant); a refused input is the parser doing its job.
#include "cdi/error.hpp"
#include "cdi/source.hpp"
#include "cdi/unique_fd.hpp"
#include "convert/positional_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cdi::fuzz {

inline std::span<const std::byte> bytes_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const std::byte*>(data), size};
}

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant: print what and abort, so libFuzzer keeps the input as a crash.
[[noreturn]] inline void fail(std::string_view what) {
    std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}
inline void check(bool ok, std::string_view what) {
    if (!ok) fail(what);
}

// A private directory per fuzzing process, removed at exit.
inline const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::string tmpl = (std::filesystem::temp_directory_path() / "cdi-fuzz-XXXXXX").string();
        check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(scratch_dir(), ec);
        });
        return std::filesystem::path(tmpl);
    }();
    return dir;
}

// The input as a file of this process's private directory (the inspector opens a path, with
// O_NOFOLLOW, so no /proc/self/fd link will do), removed when the object goes.
class memory_file {
public:
    explicit memory_file(std::span<const std::byte> data) : path_(scratch_dir() / "input") {
        unique_fd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        check(fd.get() >= 0, "cannot create the input file");
        std::size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
            check(n > 0, "cannot write the input file");
            done += static_cast<std::size_t>(n);
        }
    }
    ~memory_file() { ::unlink(path_.c_str()); }
    memory_file(const memory_file&) = delete;
    memory_file& operator=(const memory_file&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

// Reads `src` to its end (or its error, or `limit` bytes) with reads of `chunk` bytes: the read size
// varies with the input so framing bugs at read boundaries show. Returns the bytes read.
inline std::uint64_t drain(source& src, std::size_t chunk, std::uint64_t limit = 64ull << 20) {
    std::vector<std::byte> buf(chunk == 0 ? 1 : chunk);
    std::uint64_t total = 0;
    while (total < limit) {
        auto n = src.read(buf);
        if (!n || *n == 0) break;
        check(*n <= buf.size(), "source returned more bytes than asked for");
        total += *n;
    }
    return total;
}

// A read size from one input byte (0: 64 KiB, the seeds' choice): 1, odd sizes, a sector, 1 MiB.
inline std::size_t chunk_of(std::uint8_t b) {
    static constexpr std::array<std::size_t, 8> sizes{65536, 1, 3, 512, 4096, 7919, 65537, 1u << 20};
    return sizes[b % sizes.size()];
}

// A positional output in memory of a fixed size: a write outside it is a finding (a decoder must stay
// inside the virtual size it announced).
class memory_output final : public positional_output {
public:
    explicit memory_output(std::uint64_t size) : bytes_(static_cast<std::size_t>(size)) {}
    result<void> write_at(std::uint64_t offset, std::span<const std::byte> data) override {
        check(offset <= bytes_.size() && data.size() <= bytes_.size() - offset, "write_at beyond the virtual size");
        std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
        return {};
    }
    result<void> zero_at(std::uint64_t offset, std::uint64_t len) override {
        check(offset <= bytes_.size() && len <= bytes_.size() - offset, "zero_at beyond the virtual size");
        std::fill_n(bytes_.begin() + static_cast<std::ptrdiff_t>(offset), static_cast<std::size_t>(len), std::byte{0});
        return {};
    }
    result<void> flush() override { return {}; }
    const std::vector<std::byte>& bytes() const noexcept { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// Runs a shell command line (built from paths this harness made, never from input bytes) and returns
// its exit status and standard output.
struct command_output {
    int status = -1;
    std::string out;
};
inline command_output run_command(const std::string& command) {
    command_output r;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return r;
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    r.status = ::pclose(p);
    return r;
}

}  // namespace cdi::fuzz
