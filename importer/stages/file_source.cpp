#include "importer/stages/file_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace cdi {

result<std::unique_ptr<file_source>> file_source::open(const std::filesystem::path& path) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error(errno, "cannot open " + path.string());
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "cannot stat " + path.string());
    if (S_ISDIR(st.st_mode)) return make_error(errc::bad_request, path.string() + " is a directory");
    std::optional<std::uint64_t> size;
    if (S_ISREG(st.st_mode)) size = static_cast<std::uint64_t>(st.st_size);
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<file_source>(new file_source(std::move(fd), size, path));
}

result<std::size_t> file_source::read(std::span<std::byte> buf) {
    for (;;) {
        ssize_t n = ::read(fd_.get(), buf.data(), buf.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return errno_error(errno, "read " + path_.string());
    }
}

}  // namespace cdi
