#pragma once
// Making a file written by someone else (qemu-img) durable before it is reported complete: CDI's
// upload server never fsyncs after qemu-img convert (contract section 10, item 23); we do.
#include "cdi/error.hpp"

#include <filesystem>

namespace cdi {

// fsync of the file (or block device) at path, then of its parent directory when it is a regular file.
result<void> make_durable(const std::filesystem::path& path);

// fsync of the directory holding path (".": a bare name), so that a new file's directory entry is
// durable too.
result<void> sync_parent_directory(const std::filesystem::path& path);

}  // namespace cdi
