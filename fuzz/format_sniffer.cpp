// The format sniffer and the unwrapping pipeline (importer/stages/format_sniffer, pipeline): the
// first bytes of every import, and up to two compression layers (gzip, xz, zstd) peeled off them.
// Byte 0 picks the read size and the gzip backend; the rest is the stream.
#include "fuzz/fuzz_support.hpp"
#include "importer/stages/format_sniffer.hpp"
#include "importer/stages/memory_source.hpp"
#include "importer/stages/pipeline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    const std::uint8_t control = data[0];
    const auto stream = fuzz::bytes_of(data + 1, size - 1);

    const sniff_result s = sniff_format(stream.first(std::min(stream.size(), sniff_window)));
    fuzz::check(s.matches.size() != 1 || s.format == s.matches.front(), "one match but another format");

    pipeline_options opts;
    opts.gzip = (control & 0x80) != 0 ? gzip_backend::zlib : gzip_backend::isal;
    auto p = build_pipeline(std::make_unique<memory_source>(stream), opts);
    if (!p) return 0;
    fuzz::check(p->layers.size() <= opts.max_compression_layers, "more compression layers than allowed");
    fuzz::check(p->head.size() <= sniff_window, "head larger than the sniff window");
    fuzz::drain(*p->top, fuzz::chunk_of(control), 32ull << 20);
    return 0;
}
