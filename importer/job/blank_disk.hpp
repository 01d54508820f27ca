#pragma once
// Blank disks (IMPORTER_SOURCE=none), as CDI creates them (contract section 2.9):
// - file target: a raw file of usable_space(min(free space, requested size)) bytes made by
//   `qemu-img create -f raw` (with -o preallocation=falloc when preallocating), mode 0660, fsynced;
// - block target with preallocation: every byte of the device written with zeros (O_DIRECT when the
//   device takes it), so thin storage is really allocated;
// - block target without preallocation: nothing is written (an empty volume is already a blank disk).
#include "cdi/job.hpp"
#include "cdi/progress.hpp"
#include "convert/qemu_img.hpp"

#include <optional>
#include <string>

namespace cdi {

// What CDI refuses before creating anything, in its own words: "Cannot create empty disk with content
// type archive" (contract 1.4: the termination message is this text as is). nullopt when spec can be
// a blank disk. create_blank_disk returns the same text as errc::bad_request.
std::optional<std::string> blank_disk_refusal(const job_spec& spec);

result<job_result> create_blank_disk(const job_spec& spec, const qemu_img& qemu, const cancel_token& cancel);

}  // namespace cdi
