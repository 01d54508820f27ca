#pragma once
// Compressed qcow2 clusters, decoded as qemu 7.2 does (block/qcow2-threads.c): zlib is a raw
// deflate stream (window bits -12), zstd a zstd frame read with the streaming API; either must fill
// the whole cluster, and input after the cluster's data (the sector rounding, the next extent) is
// ignored. One inflater per decoder: its zlib/zstd state is reused across clusters.
// create_zlib_wrapped() makes one for the zlib-wrapped deflate of a streamOptimized VMDK grain
// (RFC 1950), read as qemu's block/vmdk.c does with zlib's uncompress(): one whole stream, checksum
// checked, at most one grain (inflate_whole_stream).
// Thread-safety: none (one per thread).
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace cdi {

class qcow2_inflater {
public:
    // compression_type: 0 zlib (raw deflate), 1 zstd (the header checked it); anything else refused.
    static result<qcow2_inflater> create(std::uint8_t compression_type);
    // zlib-wrapped deflate (a VMDK grain), for inflate_whole_stream.
    static result<qcow2_inflater> create_zlib_wrapped();
    qcow2_inflater(qcow2_inflater&&) noexcept;
    qcow2_inflater& operator=(qcow2_inflater&&) noexcept;
    ~qcow2_inflater();

    // Decodes in into exactly out.size() bytes (one cluster); errc::decompress when the data is
    // corrupt or ends before the cluster is full.
    result<void> inflate(std::span<const std::byte> in, std::span<std::byte> out);

    // create_zlib_wrapped() only: decodes one whole zlib-wrapped stream from in into at most out.size() bytes and
    // returns how many it made. errc::decompress when the data is corrupt, when the stream does not end
    // within in, or when it would make more than out.size() bytes (the bound on a zip bomb). Input
    // after the stream's end is ignored, as uncompress() ignores it.
    result<std::size_t> inflate_whole_stream(std::span<const std::byte> in, std::span<std::byte> out);

private:
    struct state;
    explicit qcow2_inflater(std::unique_ptr<state> s);
    std::unique_ptr<state> s_;
};

}  // namespace cdi
