#pragma once
// Facts about a job's target shared by the jobs that write it (import_job, clone_job): the space it offers (CDI's availableSpace), replacing a file target, and opening the target for the copy loop.
#include "cdi/error.hpp"
#include "cdi/job.hpp"
#include "convert/target_sink.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>

namespace cdi {

// CDI's availableSpace: a block device's size (errc::bad_request, nothing touched, when the block
// volume's path is not a block device: convert/block_device.hpp); for a file target the free space under data_dir plus
// what the existing target file holds (it is replaced), capped by the requested size.
result<std::uint64_t> target_capacity(const job_spec& spec, bool block_target);

// unlink(path); a missing file is not an error.
result<void> remove_file_if_present(const std::filesystem::path& path);

// The job's target as a sink, the one way both jobs open it:
// - block_target: target_sink::open_block (O_WRONLY|O_EXCL|O_NOFOLLOW, S_ISBLK checked on the
//   descriptor, so a file or symlink there is errc::bad_request and left untouched).
// - otherwise: whatever is at path is unlinked (a symlink itself, never its target), then a fresh
//   file is created O_CREAT|O_EXCL, mode 0660 (target_sink::create_file). When the create fails
//   the old file is already gone.
// Both try O_DIRECT when opts.direct_io, falling back to buffered I/O (target_sink.hpp).
result<std::unique_ptr<target_sink>> open_target(const std::filesystem::path& path, bool block_target,
                                                 const target_options& opts);

}  // namespace cdi
