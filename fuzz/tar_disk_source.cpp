// The one disk inside a tar (importer/archive/tar_disk_source): OVA descriptors, entry validation and
// the disk's bytes in stream order, as import_job reads them (open(), then every byte). Byte 0 picks the
// read size, so tar blocks straddle reads.
#include "fuzz/fuzz_support.hpp"
#include "importer/archive/tar_disk_source.hpp"
#include "importer/stages/memory_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    tar_disk_source disk(std::make_unique<memory_source>(fuzz::bytes_of(data + 1, size - 1)));
    if (!disk.open()) return 0;
    const std::uint64_t got = fuzz::drain(disk, fuzz::chunk_of(data[0]), 64ull << 20);
    if (auto hint = disk.size_hint()) fuzz::check(got <= *hint, "the disk entry delivered more than its size");
    return 0;
}
