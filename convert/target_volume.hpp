#pragma once
// Facts about a job's target shared by the jobs that write it (import_job, clone_job): the space it offers (CDI's availableSpace), and replacing a file target.
#include "cdi/error.hpp"
#include "cdi/job.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

// CDI's availableSpace: a block device's size (errc::bad_request, nothing touched, when the block
// volume's path is not a block device: convert/block_device.hpp); for a file target the free space under data_dir plus
// what the existing target file holds (it is replaced), capped by the requested size.
result<std::uint64_t> target_capacity(const job_spec& spec, bool block_target);

// unlink(path); a missing file is not an error.
result<void> remove_file_if_present(const std::filesystem::path& path);

}  // namespace cdi
