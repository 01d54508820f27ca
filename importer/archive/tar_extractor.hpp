#pragma once
// Safe extraction of a tar stream into a directory (archive content type; filesystem-clone target).
// CDI runs `tar --preserve-permissions --no-same-owner -xvC <dir>`; this keeps that result for
// benign archives and refuses hostile ones instead of sanitising them (security.md 0.6, 2.5, E1-E4).
//
// Contract:
// - Refused with errc::archive_unsafe_entry, the context naming the entry: names that are absolute or
//   contain ".."; symlinks whose target is absolute, leaves the root, or has ".." after a name
//   ("a/../.." cannot be checked without following links, so it is refused); hard links whose target
//   is not a regular file extracted earlier by this call; character/block devices, FIFOs, sockets,
//   unknown types; regular files with setuid or setgid bits; any entry whose path passes through a
//   symlink on disk (never writes through a symlink).
// - Kept: permission bits (umask not applied, as --preserve-permissions) minus setuid/setgid/sticky
//   (directories with those bits are accepted, the bits dropped); mtimes. Never chowns, never restores
//   xattrs, ACLs or file flags. Sparse members are written as holes; other zeros are written as data,
//   as GNU tar does. An entry "./" (the root itself) is skipped: dest_dir keeps its own mode.
// - A non-directory already at an entry's path is replaced (as GNU tar does; a restart after a crash
//   finds the previous attempt's partial tree); existing directories are merged into.
// - Limits: regular-file data bytes (holes excluded) over capacity → errc::too_large; more than
//   max_entries entries → errc::too_large.
// - Stream errors: not a tar → errc::bad_image ("not a tar archive: ..."), cut short inside a
//   whole upstream → errc::bad_image ("tar archive ends early: ..."),
//   upstream errors unchanged, cancel → errc::canceled. Write failures → errc::io / errc::no_space.
// - After the archive ends the upstream is read to its clean end (checksums above see everything),
//   then the tree is made durable with syncfs(dest_dir) before success is returned.
// - On failure, everything this call created or replaced under dest_dir is removed; content that was
//   there before and not replaced stays.
#include "cdi/progress.hpp"
#include "cdi/source.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cdi {

struct extract_options {
    std::uint64_t capacity;                 // total size of the regular files allowed (holes included)
    std::uint64_t max_entries = 500'000;    // bounds inode use and the clean-up list (security.md E4)
};

struct extract_result {
    std::uint64_t files = 0;  // regular files written (hard links not counted)
    std::uint64_t bytes = 0;  // regular-file data bytes written (holes excluded)
    // Paths relative to dest_dir that this call created or replaced, in creation order: what
    // remove_extracted() takes away when the import is abandoned after the extraction succeeded
    // (a checksum found wrong once the rest of the stream was read).
    std::vector<std::string> created;
};

result<extract_result> extract_tar(source& src, const std::filesystem::path& dest_dir, const extract_options& opts,
                                   const cancel_token* cancel = nullptr);

// Removes the paths an extraction created or replaced under dest_dir (extract_result::created), last
// first, without following symlinks; what dest_dir held before and was not replaced stays. Best
// effort. extract_tar's own clean-up on failure is this.
void remove_extracted(const std::filesystem::path& dest_dir, const std::vector<std::string>& created) noexcept;

}  // namespace cdi
