#pragma once
// The target side of CDI's host-assisted clone (contract 6.6, 6.8): one Snappy-framed stream from the
// clone source pod into the job's target. Runs on the calling (worker) thread, synchronously.
//
//   blockdevice-clone            snappy → raw device bytes → target (file or block device), sparse
//   filesystem-clone, block      snappy → tar → first regular entry whose name contains "disk.img" → device
//   filesystem-clone, file       snappy → tar extracted into data_dir (GNU sparse members stay sparse)
//
// No format detection, conversion or resize, as in CDI. Unlike CDI: capacity is enforced (the
// import job's: a block device's size; for a file target the free space plus the old target file,
// capped by the requested size), a file target is created 0660, and preallocation_applied reports
// what was done (CDI reports false for blockdevice-clone and true for every fs→fs clone).
//
// Guarantees: success only after the data (and a new file's directory entry) were fsynced, or the
// extracted tree was syncfs'd. On failure a target file this job created is removed and the
// extraction's entries are removed (extract_tar); a block device is left as is, never reported complete.
#include "cdi/job.hpp"
#include "cdi/progress.hpp"
#include "cdi/source.hpp"
#include "convert/aligned_buffer.hpp"

#include <optional>
#include <string_view>

namespace cdi {

enum class clone_kind { blockdevice, filesystem };

// The clone kind named by an x-cdi-content-type header value ("blockdevice-clone",
// "filesystem-clone"); nullopt for anything else (a normal upload).
std::optional<clone_kind> clone_kind_from_header(std::string_view value);

class clone_job {
public:
    clone_job(job_spec spec, clone_kind kind, progress& prog, const cancel_token& cancel);

    // Decodes the framed stream and writes it to the target; virtual_size is the bytes of the disk
    // written (0 for fs→fs), data_bytes the bytes written as data (holes excluded).
    result<job_result> run(source_ptr framed);

private:
    result<void> to_device_or_file(source& raw, bool block_target);
    result<void> to_directory(source& tar);
    bool preallocate_tree();

    job_spec spec_;
    clone_kind kind_;
    progress& progress_;
    const cancel_token& cancel_;
    std::optional<aligned_buffer> buffer_;  // allocated when a disk is streamed (not for fs→fs)
    job_result result_;
};

}  // namespace cdi
