#pragma once
// Making a file written by someone else (qemu-img) durable before it is reported complete: CDI's
// upload server never fsyncs after qemu-img convert (contract section 10, item 23); we do.
#include "cdi/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>

namespace cdi {

// fsync of the file (or block device) at path, then of its parent directory when it is a regular file;
// with `mode`, a regular file is given that mode first (fchmod). All through one descriptor opened
// with O_NOFOLLOW: a symlink swapped in at path is refused (ELOOP, errc::io), never followed.
result<void> make_durable(const std::filesystem::path& path, std::optional<mode_t> mode = std::nullopt);

// fsync of the directory holding path (".": a bare name), so that a new file's directory entry is
// durable too.
result<void> sync_parent_directory(const std::filesystem::path& path);

}  // namespace cdi
