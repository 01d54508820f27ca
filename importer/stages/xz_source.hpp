#pragma once
// A stage that yields the decompressed bytes of an .xz stream read from its upstream, decoded by
// liblzma's multithreaded decoder.
//
// Contract:
// - Concatenated streams and stream padding are decoded (LZMA_CONCATENATED), byte-exact with
//   `xz -dc`; every block's check (CRC32/CRC64/SHA-256) and the index are verified. read()
//   returns 0 only once the whole input was consumed and verified.
// - Corrupt data, bytes after the last stream that are not stream padding, and a file needing more
//   memory than opts.memlimit are errc::decompress (the context names liblzma's lzma_ret, and for
//   the memory limit both the need and the limit). Input ending early (or an empty input) is
//   errc::truncated. An upstream error is returned unchanged.
// - Blocks are decoded in parallel only when the file has several blocks with their sizes in the
//   block headers (as written by `xz -T`); single-block files decode on one thread.
// - One 1 MiB input buffer, allocated on the first read; output goes straight into the caller's
//   buffer. size_hint() is unknown.
#include "cdi/source.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace cdi {

struct xz_options {
    std::uint32_t threads = 0;              // 0 = all online cores
    std::uint64_t memlimit = 512ull << 20;  // decoder memory limit; beyond it decoding fails
    // Memory the multithreaded decoder may use to run ahead; past it liblzma decodes with fewer threads
    // (not an error). Bounded so a job stays near 64 MiB: at 512 MiB the bench saw 114 MiB peak RSS
    // on a 2 GiB image with 16 MiB blocks.
    std::uint64_t threading_memlimit = 64ull << 20;
};

class xz_source final : public source {
public:
    // Does not fail: the decoder is set up by the first read(), which returns any set-up error.
    explicit xz_source(source_ptr upstream, xz_options opts = {});
    ~xz_source() override;
    xz_source(const xz_source&) = delete;
    xz_source& operator=(const xz_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    void interrupt() noexcept override { upstream_->interrupt(); }

private:
    struct decoder;  // owns the lzma_stream (lzma_end on destruction)

    result<void> set_up();
    void remember_tail(std::span<const std::byte> data);
    bool tail_is_garbage_after_stream() const;

    source_ptr upstream_;
    xz_options opts_;
    std::unique_ptr<decoder> dec_;
    std::unique_ptr<std::byte[]> in_;
    // The last input bytes: when the input ends inside what liblzma takes for the next stream header,
    // they tell trailing garbage (errc::decompress) from a cut-short stream (errc::truncated).
    std::array<std::uint8_t, 64> tail_{};
    std::size_t tail_len_ = 0;
    bool upstream_eof_ = false;
    bool done_ = false;
};

}  // namespace cdi
