// qcow2-stream-decode: decodes the qcow2 image arriving on stdin, in stream order, into a raw file
// (created or truncated to the virtual size, fsynced). For measuring the stream decoder against
// `qemu-img convert -O raw` (docs/performance.md) and for differential runs against qemu-img.
// Usage: qcow2-stream-decode TARGET < image.qcow2   (exit 1 with "E_CLASS: reason" on failure)
#include "convert/qcow2_stream_decoder.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace {

class stdin_source final : public cdi::source {
public:
    cdi::result<std::size_t> read(std::span<std::byte> buf) override {
        for (;;) {
            const ssize_t n = ::read(0, buf.data(), buf.size());
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EINTR) return cdi::errno_error(errno, "read stdin");
        }
    }
};

int fail(const cdi::error& e) {
    std::fprintf(stderr, "%s\n", e.message().c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: qcow2-stream-decode TARGET < image.qcow2\n");
        return 2;
    }
    stdin_source src;
    auto dec = cdi::qcow2_stream_decoder::start(src);
    if (!dec) return fail(dec.error());
    auto out = cdi::positional_file::create(argv[1], dec->virtual_size());
    if (!out) return fail(out.error());
    auto stats = dec->run(*out);
    if (!stats) return fail(stats.error());
    std::printf("stream %llu bytes, %llu data clusters, %llu compressed, window peak %llu bytes\n",
                static_cast<unsigned long long>(stats->stream_bytes), static_cast<unsigned long long>(stats->data_clusters),
                static_cast<unsigned long long>(stats->compressed_clusters), static_cast<unsigned long long>(stats->window_peak));
    return 0;
}
