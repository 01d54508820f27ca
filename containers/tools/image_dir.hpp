#pragma once
// What cdi-containerimage-server checks before it listens (contract 1.7): that the image is not a
// bootc image, and that the image directory holds exactly one file, the disk.
#include "cdi/unique_fd.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace cdi {

struct served_image {
    std::string name;           // the file's name in the image directory (what the ready file holds)
    unique_fd fd;               // open read-only for the server's lifetime; reads use explicit offsets
    std::uint64_t size = 0;
    std::string last_modified;  // the file's mtime as an HTTP date
};

// The first of <root>/sysroot and <root>/ostree that exists (a bootc image, which CDI refuses to
// serve), or an empty string.
std::string bootc_marker(const std::string& root);

// Opens the single non-directory entry of `dir` (directories are ignored, as CDI does). nullopt with a
// one-line `why` when the directory cannot be read, holds no such entry or more than one, or the entry
// is not a regular file once symlinks are followed.
std::optional<served_image> open_served_image(const std::string& dir, std::string& why);

}  // namespace cdi
