#include "convert/qcow2_stream_inflate.hpp"

#include <zlib.h>
#include <zstd.h>

#include <string>

namespace cdi {
namespace {
constexpr std::uint8_t zlib_wrapped = 0xff;  // internal: not a qcow2 compression type, create() refuses it

// One inflate(Z_FINISH) of in into out on the reset stream: zlib's return code (z's avail_* tell
// what was used and made).
result<int> inflate_once(z_stream& z, std::span<const std::byte> in, std::span<std::byte> out) {
    if (inflateReset(&z) != Z_OK) return make_error(errc::io, "zlib inflateReset failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    return ::inflate(&z, Z_FINISH);
}
}  // namespace

struct qcow2_inflater::state {
    std::uint8_t type = 0;
    z_stream z{};
    bool z_live = false;
    ZSTD_DCtx* zstd = nullptr;
    ~state() {
        if (z_live) inflateEnd(&z);
        if (zstd) ZSTD_freeDCtx(zstd);
    }
};

qcow2_inflater::qcow2_inflater(std::unique_ptr<state> s) : s_(std::move(s)) {}
qcow2_inflater::qcow2_inflater(qcow2_inflater&&) noexcept = default;
qcow2_inflater& qcow2_inflater::operator=(qcow2_inflater&&) noexcept = default;
qcow2_inflater::~qcow2_inflater() = default;

result<qcow2_inflater> qcow2_inflater::create(std::uint8_t compression_type) {
    auto s = std::make_unique<state>();
    s->type = compression_type;
    if (compression_type == 0) {
        if (inflateInit2(&s->z, -12) != Z_OK) return make_error(errc::io, "zlib inflateInit2 failed");
        s->z_live = true;
    } else if (compression_type == 1) {
        s->zstd = ZSTD_createDCtx();
        if (!s->zstd) return make_error(errc::io, "ZSTD_createDCtx failed");
    } else {
        return make_error(errc::bad_image, "qcow2 compression type " + std::to_string(compression_type) + " is not supported");
    }
    return qcow2_inflater(std::move(s));
}

result<qcow2_inflater> qcow2_inflater::create_zlib_wrapped() {
    auto s = std::make_unique<state>();
    s->type = zlib_wrapped;
    // Window bits 15: the zlib header names the window, up to 32 KiB.
    if (inflateInit2(&s->z, 15) != Z_OK) return make_error(errc::io, "zlib inflateInit2 failed");
    s->z_live = true;
    return qcow2_inflater(std::move(s));
}

result<std::size_t> qcow2_inflater::inflate_whole_stream(std::span<const std::byte> in, std::span<std::byte> out) {
    if (s_->type != zlib_wrapped) return make_error(errc::io, "inflate_whole_stream needs a zlib-wrapped inflater");
    z_stream& z = s_->z;
    auto inflated = inflate_once(z, in, out);
    if (!inflated) return inflated.error();
    const int ret = *inflated;
    const std::size_t made = out.size() - z.avail_out;
    if (ret == Z_STREAM_END) return made;
    if (ret == Z_BUF_ERROR && z.avail_out == 0) {
        return make_error(errc::decompress, "zlib stream inflates to more than " + std::to_string(out.size()) + " bytes");
    }
    if (ret == Z_BUF_ERROR) {
        return make_error(errc::decompress, "zlib stream ends early: " + std::to_string(in.size()) + " bytes make " + std::to_string(made) +
                                                " bytes and no end of stream");
    }
    return make_error(errc::decompress, std::string("zlib stream is corrupt: ") + (z.msg ? z.msg : "inflate error " + std::to_string(ret)));
}

result<void> qcow2_inflater::inflate(std::span<const std::byte> in, std::span<std::byte> out) {
    if (s_->type == zlib_wrapped) return make_error(errc::io, "inflate needs a qcow2 inflater");
    if (s_->type == 0) {
        z_stream& z = s_->z;
        auto inflated = inflate_once(z, in, out);
        if (!inflated) return inflated.error();
        const int ret = *inflated;
        // qemu: Z_STREAM_END or Z_BUF_ERROR, and the whole cluster written.
        if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0) return {};
        return make_error(errc::decompress, "qcow2 compressed cluster (zlib) is corrupt or short: " + std::to_string(out.size() - z.avail_out) +
                                                " of " + std::to_string(out.size()) + " bytes");
    }
    if (ZSTD_isError(ZSTD_DCtx_reset(s_->zstd, ZSTD_reset_session_only))) return make_error(errc::io, "ZSTD_DCtx_reset failed");
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    // qemu: decompress until the cluster is full; an error, or input ending first, is corruption.
    while (ob.pos < ob.size) {
        const std::size_t before_in = ib.pos, before_out = ob.pos;
        const std::size_t ret = ZSTD_decompressStream(s_->zstd, &ob, &ib);
        if (ZSTD_isError(ret)) {
            return make_error(errc::decompress, std::string("qcow2 compressed cluster (zstd) is corrupt: ") + ZSTD_getErrorName(ret));
        }
        if (ib.pos == before_in && ob.pos == before_out) break;  // no progress: the input has ended
    }
    if (ob.pos == ob.size) return {};
    return make_error(errc::decompress, "qcow2 compressed cluster (zstd) is short: " + std::to_string(ob.pos) + " of " +
                                            std::to_string(ob.size) + " bytes");
}

}  // namespace cdi
