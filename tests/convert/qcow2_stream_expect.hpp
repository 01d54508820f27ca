#pragma once
// Shared by the qcow2 stream tests: decode a file through qcow2_stream_decoder with a chosen read
// size, and compare the target with the oracle, `qemu-img convert -f qcow2 -O raw`, byte for byte.
#include "convert/qcow2_stream_decoder.hpp"

#include "support/hostile_images.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace cdi::test {

struct stream_decode {
    result<qcow2_stream_stats> stats;
    fs::path target;
};

// Decodes image into dir/<image name>.raw, fed in reads of read_size bytes (an odd size by default,
// so no table or cluster arrives aligned to a read).
inline stream_decode decode_stream(const fs::path& image, const fs::path& dir, const qcow2_stream_options& opts = {},
                                   std::size_t read_size = 65537) {
    scripted_source src(read_file_bytes(image), read_size);
    const fs::path target = dir / (image.filename().string() + ".raw");
    auto dec = qcow2_stream_decoder::start(src, opts);
    if (!dec) return {dec.error(), target};
    auto out = positional_file::create(target, dec->virtual_size());
    if (!out) return {out.error(), target};
    return {dec->run(*out), target};
}

// The oracle's output for image, written next to it.
inline fs::path qemu_raw(const fs::path& image) {
    const fs::path raw = image.string() + ".oracle";
    must_run("qemu-img convert -f qcow2 -O raw " + hostile::q(image) + " " + hostile::q(raw));
    return raw;
}

// Decodes image and expects the target to equal the oracle's, byte for byte.
inline qcow2_stream_stats expect_same_as_qemu_img(const fs::path& image, const fs::path& dir, const qcow2_stream_options& opts = {},
                                                  std::size_t read_size = 65537) {
    auto d = decode_stream(image, dir, opts, read_size);
    EXPECT_TRUE(d.stats.has_value()) << d.stats.error().message();
    if (!d.stats) return {};
    const auto oracle = qemu_raw(image);
    EXPECT_EQ(run_command("cmp " + hostile::q(oracle) + " " + hostile::q(d.target)).status, 0)
        << "decoded " << image << " differs from qemu-img convert -O raw";
    return *d.stats;
}

// `writes` 4 KiB writes at random guest offsets of a 4 KiB-cluster image of `size` (qemu-io, seeded):
// L2 tables and data are allocated in the order of the writes, as a guest writing over time leaves
// them, so a table names clusters written long after it (they wait ahead of the stream).
inline fs::path shuffled(const fs::path& dir, int writes = 200, std::uint64_t size = 256 << 20) {
    const auto p = dir / "shuffled.qcow2";
    must_run("qemu-img create -q -f qcow2 -o cluster_size=4k " + hostile::q(p) + " " + std::to_string(size));
    std::mt19937 gen(14);
    std::string cmds;
    for (int i = 0; i < writes; ++i) {
        cmds += "write -P " + std::to_string(i % 250 + 1) + " " + std::to_string((gen() % (size / 4096)) * 4096) + " 4k\n";
    }
    must_run("printf '" + cmds + "' | qemu-io -f qcow2 " + hostile::q(p) + " >/dev/null");
    return p;
}

// An L1 table moved past the data (a resize beyond what the first L1 covers): every L2 table and data
// cluster passes before the L1 names them. 512-byte clusters, 256 MiB virtual, 320 KiB of data.
inline fs::path l1_at_end(const fs::path& dir) {
    const auto p = dir / "l1end.qcow2";
    must_run("qemu-img create -q -f qcow2 -o cluster_size=512 " + hostile::q(p) + " 32M");
    must_run("qemu-io -f qcow2 -c 'write -P 0x42 0 256k' -c 'write -P 0x43 16M 64k' " + hostile::q(p) + " >/dev/null");
    must_run("qemu-img resize -q " + hostile::q(p) + " 256M");
    return p;
}

// Compressed extents (qemu-img convert -c, 512-byte clusters) with the L1 past them: they share sectors
// with their neighbours, and tiny ones (8-byte extents, packed last) lie wholly inside the last sector
// of the one before. An L1 cluster maps 2 MiB, so growing 8 MiB to 16 MiB moves the L1.
inline fs::path compressed_l1_at_end(const fs::path& dir) {
    const auto src = dir / "c.raw";
    must_run("qemu-img create -q -f raw " + hostile::q(src) + " 8M");
    must_run("head -c 2M /dev/urandom | base64 | dd of=" + hostile::q(src) + " bs=1M seek=3 conv=notrunc status=none");
    must_run("qemu-io -f raw -c 'write -P 0x42 7M 8k' " + hostile::q(src) + " >/dev/null");
    const auto p = dir / "c-l1end.qcow2";
    must_run("qemu-img convert -c -f raw -O qcow2 -o cluster_size=512 " + hostile::q(src) + " " + hostile::q(p));
    must_run("qemu-img resize -q " + hostile::q(p) + " 16M");
    return p;
}

inline void expect_stream_refused(const stream_decode& d, errc e, const std::string& needle) {
    ASSERT_FALSE(d.stats.has_value()) << "decoded";
    EXPECT_TRUE(d.stats.error().is(e)) << d.stats.error().message();
    EXPECT_NE(d.stats.error().context.find(needle), std::string::npos) << d.stats.error().message();
}

}  // namespace cdi::test
