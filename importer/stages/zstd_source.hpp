#pragma once
// A stage that yields the decompressed bytes of a zstd stream read from its upstream.
//
// Contract:
// - Concatenated frames are decoded in order and skippable frames are skipped, byte-exact with
//   `zstd -dc`; each frame's content checksum, when present, is verified. read() returns 0 only
//   once the whole input was consumed and the last frame ended.
// - Corrupt data, and bytes after a frame that do not start another frame ("trailing garbage"),
//   are errc::decompress with ZSTD_getErrorName's text in the context. Input ending inside a frame
//   (or an empty input) is errc::truncated. An upstream error is returned unchanged.
// - Frames whose window exceeds libzstd's default limit (128 MiB, ZSTD_WINDOWLOG_LIMIT_DEFAULT)
//   are rejected by libzstd, which bounds the decoder's memory.
// - One 1 MiB input buffer, allocated on the first read; output goes straight into the caller's
//   buffer. size_hint() is unknown.
#include "cdi/source.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct ZSTD_DCtx_s;  // zstd.h: typedef struct ZSTD_DCtx_s ZSTD_DCtx

namespace cdi {

class zstd_source final : public source {
public:
    // Does not fail: the decoder is set up by the first read(), which returns any set-up error.
    explicit zstd_source(source_ptr upstream);
    ~zstd_source() override;
    zstd_source(const zstd_source&) = delete;
    zstd_source& operator=(const zstd_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    void interrupt() noexcept override { upstream_->interrupt(); }

private:
    struct dctx_deleter {
        void operator()(ZSTD_DCtx_s* dctx) const;  // ZSTD_freeDCtx
    };

    result<void> set_up();
    result<void> refill();
    // At a frame boundary: checks the next 4 bytes are a frame's magic number. Sets done_ at a
    // clean end of input.
    result<void> check_next_frame();

    source_ptr upstream_;
    std::unique_ptr<ZSTD_DCtx_s, dctx_deleter> dctx_;
    std::unique_ptr<std::byte[]> in_;
    std::size_t in_pos_ = 0;
    std::size_t in_end_ = 0;
    bool upstream_eof_ = false;
    bool at_boundary_ = true;  // the next input byte starts a frame (or the input ends)
    std::uint64_t frames_ = 0;  // frames fully decoded
    bool done_ = false;
};

}  // namespace cdi
