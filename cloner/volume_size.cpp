#include "cloner/volume_size.hpp"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <string>
#include <utility>

namespace cdi {

namespace {

// nftw's callback takes no context: one walk at a time per thread.
struct walk_state {
    bool apparent = false;
    std::uint64_t total = 0;
    std::set<std::pair<dev_t, ino_t>> linked;  // inodes with more than one name, seen once
    std::string failed;
    int failed_errno = 0;
};
thread_local walk_state* state = nullptr;

int visit(const char* path, const struct stat* st, int type, struct FTW*) {
    if (type == FTW_NS || type == FTW_DNR) {
        state->failed = path;
        state->failed_errno = errno ? errno : EACCES;
        return 1;
    }
    if (!S_ISDIR(st->st_mode) && st->st_nlink > 1 && !state->linked.emplace(st->st_dev, st->st_ino).second) return 0;
    state->total += state->apparent ? static_cast<std::uint64_t>(st->st_size) : static_cast<std::uint64_t>(st->st_blocks) * 512;
    return 0;
}

}  // namespace

result<std::uint64_t> tree_size(const std::filesystem::path& root, bool apparent) {
    walk_state s;
    s.apparent = apparent;
    state = &s;
    errno = 0;
    const int r = ::nftw(root.c_str(), visit, 32, FTW_PHYS);
    state = nullptr;
    if (r != 0) {
        if (!s.failed.empty()) return errno_error(s.failed_errno, "measuring " + s.failed);
        return errno_error(errno ? errno : EIO, "measuring " + root.string());
    }
    return s.total;
}

}  // namespace cdi
