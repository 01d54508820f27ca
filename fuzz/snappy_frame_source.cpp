// The Snappy framing of a host-assisted clone stream (server/clone/snappy_frame_source): the stream
// identifier, compressed and uncompressed chunks with their masked CRC-32C, padding and skippable
// chunks. Byte 0 picks the read size.
#include "fuzz/fuzz_support.hpp"
#include "importer/stages/memory_source.hpp"
#include "server/clone/snappy_frame_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    snappy_frame_source s(std::make_unique<memory_source>(fuzz::bytes_of(data + 1, size - 1)));
    fuzz::drain(s, fuzz::chunk_of(data[0]), 64ull << 20);
    fuzz::check(s.consumed() <= size - 1, "consumed more bytes than the stream has");
    return 0;
}
