// The stream-order qcow2 decoder (convert/qcow2_stream_decoder and its qcow2_stream_* pieces),
// differentially against qemu-img convert (stream_decoder_differential.hpp), and against itself with
// every passed-over byte read again by position (a range reader over the same bytes, no memory
// window): both must accept the same inputs and write the same disk.
#include "convert/qcow2_stream_decoder.hpp"
#include "fuzz/stream_decoder_differential.hpp"

#include <cstring>

namespace {

using namespace cdi;

// The image's bytes by position, as an HTTP origin taking ranges serves them.
class memory_ranges final : public range_reader {
public:
    explicit memory_ranges(std::span<const std::byte> image) : image_(image) {}
    result<void> read(std::span<const range_part> parts) override {
        for (const auto& p : parts) {
            fuzz::check(p.offset <= image_.size() && p.out.size() <= image_.size() - p.offset, "a part past the bytes that went by");
            std::memcpy(p.out.data(), image_.data() + p.offset, p.out.size());
        }
        return {};
    }
    std::uint64_t batch_bytes() const noexcept override { return 64u << 10; }

private:
    std::span<const std::byte> image_;
};

std::optional<std::vector<std::byte>> decode(std::span<const std::byte> image, const qcow2_stream_options& opts) {
    memory_source src(image);
    auto d = qcow2_stream_decoder::start(src, opts);
    if (!d || d->virtual_size() > fuzz::max_differential_disk) return std::nullopt;
    fuzz::memory_output out(d->virtual_size());
    if (!d->run(out)) return std::nullopt;
    return out.bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto image = cdi::fuzz::bytes_of(data, size);
    cdi::fuzz::differential<cdi::qcow2_stream_decoder>(image, "qcow2");
    memory_ranges ranges(image);
    qcow2_stream_options reread;
    reread.window_limit = 0;
    reread.chunk = 4096;
    reread.reread = &ranges;
    const auto windowed = decode(image, {});
    const auto reread_disk = decode(image, reread);
    cdi::fuzz::check(windowed.has_value() == reread_disk.has_value(),
                     windowed ? "read again by position, the decoder refuses what it accepts through its window"
                              : "read again by position, the decoder accepts what it refuses through its window");
    if (windowed) cdi::fuzz::check(*windowed == *reread_disk, "read again by position, the decoder writes another disk");
    return 0;
}
