#pragma once
// One import of a disk image from an origin (a local file, an upload body, an HTTP response) into
// the target volume. Runs on the calling (worker) thread, synchronously.
//
// Phase sequence (CDI's, contract section 2.3):
//   Info → TransferDataFile → Resize → Complete                      raw or ISO, plain or gz/xz/zstd
//   Info → Convert → Resize → Complete                               qcow2 or streamOptimized VMDK from a stream, decoded as it arrives
//   Info → TransferScratch → Convert → Resize → Complete             other vmdk, vdi, vhd, vhdx (all with CDI_CONVERTER=qemu-img)
//   Info → Convert → Resize → Complete                               the same, from an uncompressed local file
//   Info → TransferDataDir → Complete                                content archive: a tar (plain or gz/xz/zstd)
// With content kubevirt a tar is never written as a disk: an OVA's one disk, or a tar's one file, is
// read in place from the stream and takes the path of its own format (importer/archive/tar_disk_source).
// Info unwraps compression and sniffs the format (importer/pipeline). Raw streams straight to the
// target, sparse. A qcow2 or streamOptimized VMDK read from a stream is decoded in file order
// straight into the target (importer/job/stream_convert): its header is checked in Info, so an image
// larger than the target fails before its body is read. Other convertible formats are staged in scratch, inspected by our
// own parser, checked and converted by qemu-img with -f always given. Resize grows a file target to
// the requested size.
//
// Guarantees: the target is complete only when run() returns success, after its data and its
// directory entry were fsynced. On any failure a file target is removed (a block device is left
// as is and never reported complete) and the staged scratch file is removed, on success too.
#include "cdi/job.hpp"
#include "cdi/progress.hpp"
#include "cdi/source.hpp"
#include "convert/aligned_buffer.hpp"
#include "importer/job/stream_convert.hpp"
#include "convert/qemu_img.hpp"
#include "importer/stages/pipeline.hpp"
#include "scratch/scratch_file.hpp"
#include "scratch/scratch_space.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cdi {

class target_sink;

class import_job {
public:
    import_job(job_spec spec, const qemu_img& qemu, progress& prog, const cancel_token& cancel,
               pipeline_options pipe_opts = {});

    // Runs every phase from Info to Complete on the data of origin. When the origin is a local file
    // (origin_path), an uncompressed convertible image is inspected and converted in place instead
    // of being copied to scratch first: qemu-img can read it at random already.
    result<job_result> run(source_ptr origin, std::optional<std::filesystem::path> origin_path = std::nullopt);

    // Bytes of the origin's body can be read again by position (an HTTP origin taking ranges): a
    // qcow2 body decoded as it arrives, with no compression layer around it, re-reads what its layout
    // passes over instead of spilling it to scratch. reread must outlive run(); null: none.
    void reread_origin_with(range_reader* reread) noexcept { reread_ = reread; }

    // Undoes a run() that succeeded when the caller then finds the origin bad (a checksum verified
    // only once the rest of the stream was read): a file target this job created is removed, and so
    // is every path an archive's extraction created or replaced, while what the volume held before
    // stays; a block device is left as is. Idempotent; a no-op after a failed run() (which cleans up).
    void discard_output() noexcept;

private:
    result<phase> info();
    result<phase> transfer_data_file();
    result<phase> transfer_scratch();
    result<phase> transfer_data_dir();
    result<phase> convert();
    // Info's choice for a qcow2 or streamOptimized VMDK read from a stream: its header read and
    // checked against the capacity.
    result<phase> start_stream_convert();
    // Info's choice for a tar with content type kubevirt: the pipeline is rebuilt over the disk inside.
    result<void> open_tar_disk();
    result<phase> convert_stream();
    result<phase> resize();

    result<std::uint64_t> target_capacity() const;
    result<void> strip_fixed_vhd_footer(target_sink& target);
    void discard_target();

    job_spec spec_;
    const qemu_img& qemu_;
    progress& progress_;
    const cancel_token& cancel_;
    pipeline_options pipe_opts_;

    source_ptr origin_;
    std::optional<std::filesystem::path> origin_path_;
    range_reader* reread_ = nullptr;
    bool origin_is_image_ = false;  // the pipeline's top is the origin's body byte for byte
    std::filesystem::path convert_input_;  // the staged scratch file, or the local origin itself
    std::optional<pipeline> pipe_;
    bool block_target_ = false;
    bool target_touched_ = false;  // a file target was created by this job and must go on failure
    std::vector<std::string> extracted_;  // archive content: what extract_tar created, for discard_output
    std::uint64_t capacity_ = 0;   // CDI's availableSpace: min(free space or device size, requested size)
    std::optional<scratch_space> scratch_;
    std::optional<scratch_file> staged_;
    std::optional<stream_decode> stream_;  // the image decoded as it arrives, from Info on
    aligned_buffer buffer_;  // both copy buffers, halves of one allocation
    job_result result_;
};

}  // namespace cdi
