#pragma once
// Shared by the decompressing stage tests (gzip_source, xz_source, zstd_source): test data, compression
// with the real tools, and the checks every decompressing source must pass in the same way.
// A check that builds its own stages takes make_stage(source_ptr upstream), which returns the stage
// under test reading from upstream.
#include "cdi/source.hpp"

#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

namespace cdi::test {

// Random bytes interleaved with long zero runs: exercises both stored and heavily coded blocks.
inline bytes mixed_data(std::size_t n, std::uint32_t seed = 7) {
    bytes b = random_bytes(n, seed);
    for (std::size_t off = 0; off < n; off += 64 * 1024) {
        std::memset(b.data() + off, 0, std::min<std::size_t>(40 * 1024, n - off));
    }
    return b;
}

// Compresses data with an external tool, e.g. "gzip -c -6", and returns the output file's bytes.
inline bytes compress_with(const std::string& tool, const bytes& data) {
    temp_dir dir;
    write_file(dir / "in", data.data(), data.size());
    must_run(tool + " < '" + (dir / "in").string() + "' > '" + (dir / "out").string() + "'");
    return read_file_bytes(dir / "out");
}

// Streams `size` zero bytes (a head -c size such as "64M") from /dev/zero through the tool, without
// writing them to disk first, and returns the tool's output.
inline bytes compress_zeros(const std::string& tool, const std::string& size) {
    temp_dir dir;
    must_run("head -c " + size + " /dev/zero | " + tool + " > '" + (dir / "out").string() + "'");
    return read_file_bytes(dir / "out");
}

inline bytes concat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// A fault injected at each of the first five upstream reads comes out of the stage unchanged.
template <class MakeStage>
void expect_upstream_fault_passes_through(const MakeStage& make_stage, const bytes& compressed) {
    for (std::size_t n = 1; n <= 5; ++n) {
        auto src = make_stage(std::make_unique<scripted_source>(compressed, 1024, n));
        auto out = drain(src, 1024);
        ASSERT_FALSE(out) << "fault at read " << n;
        EXPECT_TRUE(out.error().is(errc::io)) << out.error().message();
        EXPECT_EQ(out.error().context, "injected read fault");
    }
}

// Reading through caller buffers of 1 and of 7 bytes yields `data` exactly.
template <class MakeStage>
void expect_tiny_caller_buffers_decode(const MakeStage& make_stage, const bytes& compressed, const bytes& data) {
    for (std::size_t buf : {std::size_t{1}, std::size_t{7}}) {
        auto src = make_stage(std::make_unique<scripted_source>(compressed));
        auto out = drain(src, buf);
        ASSERT_TRUE(out) << out.error().message();
        EXPECT_EQ(*out, data) << "buffer " << buf;
    }
}

// Every cut of `compressed` to `keep` bytes is errc::truncated, read whole and, for cuts of at most
// 4 KiB, one byte per upstream read.
template <class MakeStage>
void expect_truncation_is_an_error(const MakeStage& make_stage, const bytes& compressed,
                                   std::initializer_list<std::size_t> keeps) {
    for (std::size_t keep : keeps) {
        bytes cut(compressed.begin(), compressed.begin() + static_cast<std::ptrdiff_t>(keep));
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX}) {
            if (chunk == 1 && keep > 4096) continue;
            auto src = make_stage(std::make_unique<scripted_source>(cut, chunk));
            auto out = drain(src, 256 * 1024);
            ASSERT_FALSE(out) << "cut to " << keep << " decoded";
            EXPECT_TRUE(out.error().is(errc::truncated)) << keep << ": " << out.error().message();
        }
    }
}

// The stage has no size hint, yields exactly decoded_size bytes, then 0 on every later read.
inline void expect_end_is_sticky_and_size_unknown(source& stage, std::size_t decoded_size) {
    EXPECT_FALSE(stage.size_hint());
    bytes buf(4096);
    auto n = read_full(stage, buf);
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(*n, decoded_size);
    for (int i = 0; i < 2; ++i) {
        auto again = stage.read(buf);
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, 0u);
    }
}

// The stage decodes to exactly `size` bytes, all zero, read through a 1 MiB buffer.
inline void expect_decodes_to_zeros(source& stage, std::uint64_t size) {
    bytes buf(1 << 20);
    std::uint64_t total = 0;
    bool all_zero = true;
    for (;;) {
        auto n = stage.read(buf);
        ASSERT_TRUE(n) << n.error().message();
        if (*n == 0) break;
        all_zero = all_zero && std::all_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n),
                                           [](std::byte b) { return b == std::byte{0}; });
        total += *n;
    }
    EXPECT_EQ(total, size);
    EXPECT_TRUE(all_zero);
}

}  // namespace cdi::test
