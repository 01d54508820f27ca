#pragma once
// The filesystem-clone payload (contract 6.8): what CDI's `tar cv [-S]` run inside the mount makes,
// every top-level entry except lost+found with relative names ("disk.img", "sub/file"), written by
// libarchive's pax writer (restricted pax: plain ustar headers, a pax header only where a name,
// a size or a sparse map needs one). GNU tar, Go's archive/tar and our extractor
// (importer/archive/tar_extractor) all read it.
//
// - Files are read by their extents (libarchive's disk reader: SEEK_DATA/SEEK_HOLE), so holes are
//   never read. With sparse (no preallocation) a file with holes is a GNU sparse 1.0 member and its
//   holes do not travel; when preallocating (CDI drops -S) the holes travel as zeros, never read.
// - Hard links travel once with their data, then as links; symlinks as symlinks (never followed);
//   directories, modes and modification times as tar keeps them; no xattrs, ACLs or owner names;
//   FIFOs and device nodes as entries (never opened); sockets skipped with a warning, as GNU tar.
// - Errors: errc::io naming the entry libarchive could not read; the pipe's errc::canceled.
#include "cdi/error.hpp"
#include "cloner/framed_pipe.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace cdi {

// The top-level names CDI archives: every entry of root but lost+found, sorted (CDI's os.ReadDir order).
result<std::vector<std::string>> top_level_entries(const std::filesystem::path& root);

result<void> stream_tree(const std::filesystem::path& root, bool sparse, framed_pipe& out);

}  // namespace cdi
