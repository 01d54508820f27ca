#include "containers/tools/image_dir.hpp"

#include "containers/tools/http_request.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace cdi {

namespace {

struct dir_closer {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.ends_with('/') ? dir + name : dir + "/" + name;
}

}  // namespace

std::string bootc_marker(const std::string& root) {
    for (const char* name : {"sysroot", "ostree"}) {
        const std::string p = join(root, name);
        struct stat st {};
        if (::lstat(p.c_str(), &st) == 0) return p;
    }
    return {};
}

std::optional<served_image> open_served_image(const std::string& dir, std::string& why) {
    std::unique_ptr<DIR, dir_closer> d(::opendir(dir.c_str()));
    if (!d) {
        why = "cannot read the image directory " + dir + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::string found;
    while (const dirent* e = ::readdir(d.get())) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (::fstatat(::dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            why = "cannot stat " + join(dir, name) + ": " + std::strerror(errno);
            return std::nullopt;
        }
        if (S_ISDIR(st.st_mode)) continue;
        if (!found.empty()) {
            why = "the image directory " + dir + " holds more than one file (" + found + ", " + name + "), expected exactly one";
            return std::nullopt;
        }
        found = name;
    }
    if (found.empty()) {
        why = "the image directory " + dir + " holds no file, expected exactly one";
        return std::nullopt;
    }
    served_image img;
    img.name = found;
    const std::string path = join(dir, found);
    img.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!img.fd) {
        why = "cannot open " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(img.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        why = path + " is not a regular file";
        return std::nullopt;
    }
    img.size = static_cast<std::uint64_t>(st.st_size);
    img.last_modified = http_date(st.st_mtim.tv_sec);
    return img;
}

}  // namespace cdi
