// A stand-alone Snappy framing encoder, stdin to stdout, for CDI's clone-source shape in
// bench/clone.sh (`tar cS | snappy-frame-stream | curl`): what github.com/golang/snappy's buffered
// writer does in cdi-cloner, as a process in a pipe. Reads 64 KiB blocks, compresses each with
// libsnappy, stores it uncompressed when snappy does not save an eighth, masked CRC-32C per chunk.
#include "snappy/snappy_framing.hpp"

#include <snappy.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

bool write_all(const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(1, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

}  // namespace

int main() {
    using namespace cdi::snappy_framing;
    static const char identifier[] = "\xff\x06\x00\x00sNaPpY";
    if (!write_all(identifier, 10)) return 1;
    std::vector<char> in(max_block_size);
    std::vector<char> out(header_size + checksum_size + snappy::MaxCompressedLength(max_block_size));
    for (;;) {
        std::size_t got = 0;
        while (got < in.size()) {
            const ssize_t r = ::read(0, in.data() + got, in.size() - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return std::perror("read"), 1;
            if (r == 0) break;
            got += static_cast<std::size_t>(r);
        }
        if (got == 0) return 0;
        std::size_t clen = 0;
        snappy::RawCompress(in.data(), got, out.data() + 8, &clen);
        char type = 0x00;
        if (clen >= got - got / 8) {
            type = 0x01;
            clen = got;
            std::memcpy(out.data() + 8, in.data(), got);
        }
        const std::uint32_t crc = cdi::snappy_masked_crc(std::span(reinterpret_cast<const std::byte*>(in.data()), got));
        const std::size_t len = clen + 4;
        out[0] = type;
        for (int i = 0; i < 3; ++i) out[1 + i] = static_cast<char>(len >> (8 * i));
        for (int i = 0; i < 4; ++i) out[4 + i] = static_cast<char>(crc >> (8 * i));
        if (!write_all(out.data(), 4 + len)) return 1;
        if (got < in.size()) return 0;
    }
}
