#pragma once
// Bytes of a stream read again by position: the origin of a source that can serve byte ranges of the
// same body it streamed (an HTTP origin with Range and a validator, importer/http/http_range_reader).
// A stream-order decoder passes over bytes it cannot use yet, keeps only their positions, and reads
// them again here when a table names them, instead of holding or spilling them (issue 14).
//
// Contract:
// - read(parts) fills every part's `out` with the body's bytes [offset, offset + out.size()), or
//   fails as a whole; it may fetch the parts concurrently, in any order, and coalesce neighbours.
// - The bytes are those of the representation the stream delivered; an origin that can no longer
//   promise that (another validator, a 200 instead of a 206) is an error (errc::truncated, final).
// - batch_bytes() bounds the parts' buffers the caller should gather into one read.
// Thread-safety: none; called from the thread that drives the stream.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi {

struct range_part {
    std::uint64_t offset = 0;    // of the body
    std::span<std::byte> out;    // filled with out.size() bytes from offset
};

class range_reader {
public:
    virtual ~range_reader() = default;
    virtual result<void> read(std::span<const range_part> parts) = 0;
    // Bytes the caller should gather into one read at most (the memory it holds for them).
    virtual std::uint64_t batch_bytes() const noexcept { return 4u << 20; }
};

}  // namespace cdi
