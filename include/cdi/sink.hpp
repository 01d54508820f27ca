#pragma once
// The push side of the data path: an append-only writer of a disk image.
//
// Contract:
// - write(data) appends data at offset(); zero(len) appends len bytes that must read back as zero
//   (a hole on a fresh file, a zeroed range on a block device).
// - flush() makes everything appended so far durable (fsync); a target is reported complete only
//   after flush() succeeded.
// - A sink never writes past its capacity: an append that would is an errc::too_large error
//   ("image is larger than the target capacity of N bytes"), raised before anything is written.
// Thread-safety: none.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace cdi {

struct sink_caps {
    bool block_device = false;
    bool direct_io = false;        // writes must be aligned to block_size (the sink handles tails)
    std::size_t block_size = 512;  // logical block size for alignment
};

class sink {
public:
    virtual ~sink() = default;
    virtual result<void> write(std::span<const std::byte> data) = 0;
    virtual result<void> zero(std::uint64_t len) = 0;
    virtual result<void> flush() = 0;
    virtual std::uint64_t offset() const = 0;
    // Bytes this sink can hold in total, when bounded.
    virtual std::optional<std::uint64_t> capacity() const { return std::nullopt; }
    virtual sink_caps caps() const { return {}; }
};

using sink_ptr = std::unique_ptr<sink>;

}  // namespace cdi
