#pragma once
// The pull side of the data path. A stage is a source that owns its upstream (std::unique_ptr), so
// a whole pipeline is one object and destroying it closes every layer in order.
//
// Contract:
// - read(buf) with a non-empty buf returns 1..buf.size() bytes, or 0 exactly once the data has
//   ended cleanly. A short read is not the end. A stream that ends before its own framing says it
//   should (a gzip member cut short, a body shorter than its Content-Length) is an error, never 0.
// - After an error the source is unusable; callers do not read again.
// - size_hint() is the number of bytes the source will deliver in total, when known in advance.
// - interrupt() may be called from any thread, also while another one is in read(): a read waiting
//   on the network returns soon (an error), and the source is unusable afterwards. A source that
//   never waits long (a file, memory) ignores it. Used by read_ahead_source, whose thread reads
//   its upstream, to stop that thread: the stages it may sit above (peek, counting, checksum, the
//   decompressors, a registry blob's size check) forward it to their upstream.
// Thread-safety: none besides interrupt(); a pipeline is driven by one worker thread.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace cdi {

class source {
public:
    virtual ~source() = default;
    virtual result<std::size_t> read(std::span<std::byte> buf) = 0;
    virtual std::optional<std::uint64_t> size_hint() const { return std::nullopt; }
    virtual void interrupt() noexcept {}
};

using source_ptr = std::unique_ptr<source>;

// Reads until buf is full or the data ends; returns the number of bytes read (< buf.size() only at
// the end of data).
inline result<std::size_t> read_full(source& src, std::span<std::byte> buf) {
    std::size_t got = 0;
    while (got < buf.size()) {
        auto n = src.read(buf.subspan(got));
        if (!n) return n.error();
        if (*n == 0) break;
        got += *n;
    }
    return got;
}

}  // namespace cdi
