// The gzip member parser (importer/stages/gzip_source): header fields (FEXTRA, FNAME, FCOMMENT,
// FHCRC), the deflate body through ISA-L or zlib, the CRC32/ISIZE trailer, concatenated members.
// Byte 0 picks the backend and the read size.
#include "fuzz/fuzz_support.hpp"
#include "importer/stages/gzip_source.hpp"
#include "importer/stages/memory_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    const std::uint8_t control = data[0];
    const auto backend = (control & 0x80) != 0 ? gzip_backend::zlib : gzip_backend::isal;
    gzip_source gz(std::make_unique<memory_source>(fuzz::bytes_of(data + 1, size - 1)), backend);
    fuzz::drain(gz, fuzz::chunk_of(control), 32ull << 20);
    return 0;
}
