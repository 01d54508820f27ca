// The stream-order qcow2 decoder (convert/qcow2_stream_decoder and its qcow2_stream_* pieces),
// differentially against qemu-img convert (stream_decoder_differential.hpp), and against itself with
// a range reader over the same bytes and no memory window: every passed-over byte read again by
// position (with every cluster named ahead of the stream queued in a scratch file, not in memory),
// and, separately, every table ahead of the stream read by position first. All three must accept the
// same inputs and write the same disk.
#include "convert/qcow2_stream_decoder.hpp"
#include "fuzz/stream_decoder_differential.hpp"

#include <cstring>

namespace {

using namespace cdi;

// The image's bytes by position, as an HTTP origin taking ranges serves them. Only reading again
// what went by (ahead = false), a part past the end is a bug; tables read ahead may name any offset,
// which an origin refuses (errc::truncated, as the HTTP reader does for a range it does not get).
class memory_ranges final : public range_reader {
public:
    memory_ranges(std::span<const std::byte> image, bool ahead) : image_(image), ahead_(ahead) {}
    result<void> read(std::span<const range_part> parts) override {
        for (const auto& p : parts) {
            const bool inside = p.offset <= image_.size() && p.out.size() <= image_.size() - p.offset;
            if (!inside && ahead_) return make_error(errc::truncated, "a range past the end of the body");
            fuzz::check(inside, "a part past the bytes that went by");
            std::memcpy(p.out.data(), image_.data() + p.offset, p.out.size());
        }
        return {};
    }
    std::uint64_t batch_bytes() const noexcept override { return 64u << 10; }

private:
    std::span<const std::byte> image_;
    bool ahead_;
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
    const auto windowed = decode(image, {});
    for (const bool ahead : {false, true}) {
        memory_ranges ranges(image, ahead);
        qcow2_stream_options by_position;
        by_position.window_limit = 0;
        by_position.chunk = 4096;
        by_position.reread = &ranges;
        by_position.read_tables_ahead = ahead;
        if (!ahead) {
            by_position.queue_memory_limit = 0;
            by_position.spill_dir = cdi::fuzz::scratch_dir();
            by_position.spill_limit = 1ull << 30;
        }
        const auto disk = decode(image, by_position);
        const char* how = ahead ? "with tables read ahead" : "read again by position";
        cdi::fuzz::check(windowed.has_value() == disk.has_value(),
                         std::string(how) + (windowed ? ", the decoder refuses what it accepts through its window"
                                                      : ", the decoder accepts what it refuses through its window"));
        if (windowed) cdi::fuzz::check(*windowed == *disk, std::string(how) + ", the decoder writes another disk");
    }
    return 0;
}
