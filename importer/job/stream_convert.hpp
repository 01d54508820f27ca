#pragma once
// The decoders that convert an image while its bytes arrive (issue 14), as import_job uses them:
// which formats they take, starting one on the stream (its header read and checked, so the virtual
// size is known before any output exists), and running it into the job's target.
//
// qcow2 always; a VMDK when its first sector says streamOptimized (compressed grains with markers,
// deflate), decided from the sniffed head before a byte is consumed, so any other VMDK keeps the
// staged path (scratch, inspector, qemu-img). Everything else is staged.
#include "cdi/job.hpp"
#include "cdi/progress.hpp"
#include "cdi/source.hpp"
#include "convert/qcow2_stream_decoder.hpp"
#include "convert/vmdk_stream_decoder.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace cdi {

// Pure: whether a stream of format f, whose first bytes are head, is decoded as it arrives.
bool decodes_while_streaming(image_format f, std::span<const std::byte> head) noexcept;

struct stream_decode_options {
    const cancel_token* cancel = nullptr;
    std::optional<std::filesystem::path> spill_dir;  // the scratch volume, when the pod has one
    std::uint64_t spill_limit = 0;                   // its free bytes
    bool spill_direct = false;                       // CACHE_MODE=TRYNONE
    range_reader* reread = nullptr;                  // qcow2: passed-over bytes read again instead of spilled
};

struct stream_decode_summary {
    std::uint64_t stream_bytes = 0;  // bytes of the image read
    std::uint64_t data_bytes = 0;    // written to the target as data
    bool preallocation_applied = false;
    std::string detail;              // what the decoder saw (spilled bytes included), for the log
};

class stream_decode {
public:
    // Reads and checks the image's header from src (which must outlive this).
    static result<stream_decode> start(image_format f, source& src, const stream_decode_options& opts);

    std::uint64_t virtual_size() const noexcept;
    std::string describe() const;

    // Decodes the rest of the stream into the job's target (positional_target: a fresh file of the
    // virtual size or the zeroed block volume), through a writer thread; fsynced when it returns
    // success. On failure the caller removes a file target.
    result<stream_decode_summary> run(const job_spec& spec, std::uint64_t capacity, bool block_target, bool& target_created);

private:
    explicit stream_decode(std::variant<qcow2_stream_decoder, vmdk_stream_decoder> d) : decoder_(std::move(d)) {}
    std::variant<qcow2_stream_decoder, vmdk_stream_decoder> decoder_;
};

}  // namespace cdi
