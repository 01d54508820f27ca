#pragma once
// Compressed qcow2 clusters, decoded as qemu 7.2 does (block/qcow2-threads.c): zlib is a raw
// deflate stream (window bits -12), zstd a zstd frame read with the streaming API; either must fill
// the whole cluster, and input after the cluster's data (the sector rounding, the next extent) is
// ignored. One inflater per decoder: its zlib/zstd state is reused across clusters.
// Thread-safety: none (one per thread).
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace cdi {

class qcow2_inflater {
public:
    // compression_type: 0 zlib, 1 zstd (the header checked it).
    static result<qcow2_inflater> create(std::uint8_t compression_type);
    qcow2_inflater(qcow2_inflater&&) noexcept;
    qcow2_inflater& operator=(qcow2_inflater&&) noexcept;
    ~qcow2_inflater();

    // Decodes in into exactly out.size() bytes (one cluster); errc::decompress when the data is
    // corrupt or ends before the cluster is full.
    result<void> inflate(std::span<const std::byte> in, std::span<std::byte> out);

private:
    struct state;
    explicit qcow2_inflater(std::unique_ptr<state> s);
    std::unique_ptr<state> s_;
};

}  // namespace cdi
