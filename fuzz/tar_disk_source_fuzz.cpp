// libFuzzer harness: tar_disk_source over arbitrary bytes (issue 18): open() then every byte of the
// disk entry, as import_job reads it. Seed it with the tars tests/support/tar_disks.py writes.
#include "importer/archive/tar_disk_source.hpp"
#include "importer/stages/memory_source.hpp"

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto origin = std::make_unique<cdi::memory_source>(std::as_bytes(std::span<const std::uint8_t>(data, size)));
    cdi::tar_disk_source disk(std::move(origin));
    if (!disk.open()) return 0;
    std::array<std::byte, 65536> buf{};
    std::uint64_t total = 0;
    for (;;) {
        auto n = disk.read(buf);
        if (!n || *n == 0) break;
        total += *n;
    }
    (void)total;
    return 0;
}
