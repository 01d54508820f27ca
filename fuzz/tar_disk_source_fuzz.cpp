// libFuzzer harness: tar_disk_source over arbitrary bytes (issue 18): open() then every byte of the
// disk entry, as import_job reads it. Seed it with the tars tests/support/tar_disks.py writes.
#include "importer/archive/tar_disk_source.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace {

// The input as an origin, handed out in reads of at most 4099 bytes (odd, so that tar blocks
// straddle reads); cdi_archive alone is linked (no cdi_stages, no Asio).
class input_source final : public cdi::source {
public:
    explicit input_source(std::span<const std::byte> data) : data_(data) {}
    cdi::result<std::size_t> read(std::span<std::byte> buf) override {
        const std::size_t n = std::min({buf.size(), data_.size(), std::size_t{4099}});
        std::memcpy(buf.data(), data_.data(), n);
        data_ = data_.subspan(n);
        return n;
    }

private:
    std::span<const std::byte> data_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto origin = std::make_unique<input_source>(std::as_bytes(std::span<const std::uint8_t>(data, size)));
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
