#pragma once
// Facts about a job's target shared by the jobs that write it (import_job, clone_job): whether it is
// a block device, the space it offers (CDI's availableSpace), and replacing a file target.
#include "cdi/error.hpp"
#include "cdi/job.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

// Whether path names a block device (stat follows symlinks, as /dev/cdi-block-volume may be one).
bool is_block_device(const std::filesystem::path& path);

// CDI's availableSpace: a block device's size; for a file target the free space under data_dir plus
// what the existing target file holds (it is replaced), capped by the requested size.
result<std::uint64_t> target_capacity(const job_spec& spec, bool block_target);

// unlink(path); a missing file is not an error.
result<void> remove_file_if_present(const std::filesystem::path& path);

}  // namespace cdi
