#pragma once
// Shared by the target_sink tests (files and block devices): scripted append sequences, the bytes
// they must leave on the target, and disk_ops that fail with chosen errnos.
#include "cdi/sink.hpp"
#include "convert/aligned_buffer.hpp"
#include "convert/zero_strategy.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace cdi::test {

inline constexpr std::uint64_t MiB = 1 << 20;

// One step of a scripted append sequence: data (random, never all zero) or a zero run.
struct step {
    bool zero;
    std::size_t len;
};

// The bytes a sequence of steps must leave on the target.
inline bytes expected_content(const std::vector<step>& steps, std::uint32_t seed = 7) {
    bytes out;
    std::uint32_t s = seed;
    for (auto& st : steps) {
        if (st.zero) {
            out.resize(out.size() + st.len);
        } else {
            auto d = random_bytes(st.len, s++);
            d[0] = std::byte{0x5a};
            out.insert(out.end(), d.begin(), d.end());
        }
    }
    return out;
}

// Appends the steps to a sink, writing data from `memory` at an offset that keeps it aligned or not.
inline void append_steps(sink& s, const std::vector<step>& steps, bool unaligned_memory = false, std::uint32_t seed = 7) {
    aligned_buffer mem(8 * MiB + 4096);
    std::uint32_t sd = seed;
    for (auto& st : steps) {
        if (st.zero) {
            auto r = s.zero(st.len);
            ASSERT_TRUE(r) << r.error().message();
        } else {
            auto d = random_bytes(st.len, sd++);
            d[0] = std::byte{0x5a};
            ASSERT_LE(d.size(), 8 * MiB);
            std::byte* p = mem.data() + (unaligned_memory ? 1 : 0);
            std::memcpy(p, d.data(), d.size());
            auto r = s.write({p, d.size()});
            ASSERT_TRUE(r) << r.error().message();
        }
    }
}

// disk_ops over the kernel whose methods fail with chosen errnos, counting calls per method.
struct faulty_ops {
    int zero_range_err = 0;
    int punch_hole_err = 0;
    int blkzeroout_err = 0;
    int allocate_err = 0;
    int zero_range_calls = 0, punch_hole_calls = 0, blkzeroout_calls = 0;

    disk_ops make() {
        auto k = disk_ops::kernel();
        disk_ops ops;
        ops.fallocate = [this, k](int fd, int mode, std::uint64_t off, std::uint64_t len) {
            if (mode & FALLOC_FL_ZERO_RANGE) {
                ++zero_range_calls;
                if (zero_range_err) return zero_range_err;
            } else if (mode & FALLOC_FL_PUNCH_HOLE) {
                ++punch_hole_calls;
                if (punch_hole_err) return punch_hole_err;
            } else if (allocate_err) {
                return allocate_err;
            }
            return k.fallocate(fd, mode, off, len);
        };
        ops.blkzeroout = [this, k](int fd, std::uint64_t off, std::uint64_t len) {
            ++blkzeroout_calls;
            if (blkzeroout_err) return blkzeroout_err;
            return k.blkzeroout(fd, off, len);
        };
        return ops;
    }
};

}  // namespace cdi::test
