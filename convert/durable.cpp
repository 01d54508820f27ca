#include "convert/durable.hpp"

#include "cdi/unique_fd.hpp"
#include "convert/no_eintr.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cdi {

result<void> make_durable(const std::filesystem::path& path, std::optional<mode_t> mode) {
    unique_fd fd(no_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC); }));
    if (!fd) return errno_error(errno, "cannot open " + path.string() + " to fsync it");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "stat " + path.string());
    const bool regular = S_ISREG(st.st_mode);
    if (mode && regular && ::fchmod(fd.get(), *mode) != 0) return errno_error(errno, "chmod " + path.string());
    if (no_eintr([&] { return ::fsync(fd.get()); }) != 0) return errno_error(errno, "fsync " + path.string());
    if (!regular) return {};
    return sync_parent_directory(path);
}

result<void> sync_parent_directory(const std::filesystem::path& path) {
    const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
    unique_fd dfd(no_eintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
    if (!dfd) return errno_error(errno, "cannot open directory " + dir.string() + " to fsync it");
    if (no_eintr([&] { return ::fsync(dfd.get()); }) != 0) return errno_error(errno, "fsync directory " + dir.string());
    return {};
}

}  // namespace cdi
