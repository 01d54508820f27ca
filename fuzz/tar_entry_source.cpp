// The tar entry readers (importer/archive/archive_reader, tar_entry_data, tar_entry_source): libarchive
// over our source, the entry headers (ustar, GNU, pax, sparse maps), the selected entry's data with its
// holes. Selection as the clone target's block path: the first entry whose name contains "disk.img".
// Byte 0 picks the read size.
#include "fuzz/fuzz_support.hpp"
#include "importer/archive/tar_entry_source.hpp"
#include "importer/stages/memory_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    tar_entry_source entry(
        std::make_unique<memory_source>(fuzz::bytes_of(data + 1, size - 1)),
        [](std::string_view name) { return name.find("disk.img") != std::string_view::npos; }, "no disk image found in tar");
    const std::uint64_t got = fuzz::drain(entry, fuzz::chunk_of(data[0]), 64ull << 20);
    if (auto hint = entry.size_hint()) fuzz::check(got <= *hint, "an entry delivered more than its size");
    return 0;
}
