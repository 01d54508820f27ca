#include "importer/archive/tar_extractor.hpp"

#include "cdi/unique_fd.hpp"
#include "importer/archive/archive_reader.hpp"
#include "importer/archive/entry_name.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace cdi {

namespace {

namespace fs = std::filesystem;

// Options for archive_write_disk:
// - PERM: the entry's bits exactly (already masked to 0777 here), umask not applied, as
//   `tar --preserve-permissions`. TIME: mtimes, as tar.
// - SECURE_SYMLINKS, SECURE_NODOTDOT: defence in depth; every path is checked here first.
// - Not SECURE_NOABSOLUTEPATHS: libarchive resolves relative paths against the process cwd, which a
//   server cannot change per job, so it gets dest_dir-prefixed paths; absolute names are refused
//   here before prefixing.
// - Not UNLINK: a non-directory in the way is checked and unlinked here, so libarchive only ever
//   creates (O_EXCL) and never opens an existing symlink.
// - Not OWNER (the pod runs as uid 107; never chown), XATTR, ACL, FFLAGS, MAC_METADATA
//   (CVE-2021-23177: ACLs applied through a symlink).
// - Not SPARSE: zeros stored as data stay data, as GNU tar writes them; sparse members still get
//   holes because their blocks carry offsets.
// - Not SAFE_WRITES: on failure the whole partial tree is removed anyway.
constexpr int disk_options = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                             ARCHIVE_EXTRACT_SECURE_NODOTDOT;

struct write_deleter {
    void operator()(archive* a) const noexcept { archive_write_free(a); }
};
using disk_writer = std::unique_ptr<archive, write_deleter>;

class extractor {
public:
    extractor(source& src, const extract_options& opts, const cancel_token* cancel)
        : reader_(src), opts_(opts), cancel_(cancel) {}

    result<extract_result> run(const fs::path& dest_dir) {
        auto r = extract(dest_dir);
        if (!r) cleanup();
        return r;
    }

private:
    result<extract_result> extract(const fs::path& dest_dir);
    result<void> entry(archive_entry* e);
    result<void> copy_data(const std::string& name);
    result<void> check_entry(archive_entry* e, const std::string& name, std::string* link);
    // Adds a regular entry's logical size (holes included) to the total; over capacity → too_large,
    // before anything of the entry is written.
    result<void> count_size(archive_entry* e, const std::string& name);
    // Records every missing parent of name as created; refuses a parent that is a symlink.
    result<void> prepare_parents(const std::string& name);
    // Makes room for name: records it as created unless it is an existing directory kept for a
    // directory entry; unlinks a non-directory in the way.
    result<void> prepare_final(const std::string& name, bool is_dir);
    error write_error(std::string_view name, std::string_view doing);
    void cleanup() noexcept;
    bool canceled() const noexcept { return cancel_ != nullptr && cancel_->canceled(); }

    archive_reader reader_;
    const extract_options& opts_;
    const cancel_token* cancel_;
    fs::path dest_;
    unique_fd dir_;
    disk_writer writer_;
    std::vector<std::string> created_;          // relative paths created or replaced, in order
    std::unordered_set<std::string> files_;     // regular files written: the only hard-link targets
    std::uint64_t entries_ = 0;
    std::uint64_t logical_bytes_ = 0;           // sum of the regular entries' sizes, holes included
    extract_result result_;
};

result<extract_result> extractor::extract(const fs::path& dest_dir) {
    std::error_code ec;
    // Canonical, so no component of the prefix given to libarchive is a symlink (SECURE_SYMLINKS
    // checks every component of the absolute path).
    dest_ = fs::canonical(dest_dir, ec);
    if (ec) return make_error(errc::io, "extraction target " + shown_entry_name(dest_dir.string()) + ": " + ec.message());
    dir_.reset(::open(dest_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_) return errno_error(errno, "opening extraction target " + shown_entry_name(dest_.string()));
    writer_.reset(archive_write_disk_new());
    if (!writer_) return make_error(errc::io, "archive_write_disk_new: out of memory");
    if (archive_write_disk_set_options(writer_.get(), disk_options) != ARCHIVE_OK) {
        return make_error(errc::io, std::string("libarchive set-up: ") + archive_error_string(writer_.get()));
    }
    for (;;) {
        if (canceled()) return make_error(errc::canceled, "archive extraction canceled");
        auto e = reader_.next_entry();
        if (!e) return e.error();
        if (*e == nullptr) break;
        if (++entries_ > opts_.max_entries) {
            return make_error(errc::too_large, "archive has more than " + std::to_string(opts_.max_entries) + " entries");
        }
        if (auto r = entry(*e); !r) return r.error();
    }
    if (auto r = reader_.finish(); !r) return r.error();
    // Applies the deferred directory modes and times.
    if (archive_write_close(writer_.get()) < ARCHIVE_WARN) return write_error(dest_.string(), "finishing extraction");
    if (::syncfs(dir_.get()) != 0) return errno_error(errno, "syncfs of " + shown_entry_name(dest_.string()));
    result_.created = std::move(created_);
    return std::move(result_);
}

result<void> extractor::check_entry(archive_entry* e, const std::string& name, std::string* link) {
    const char* hard = archive_entry_hardlink(e);
    const auto perm = static_cast<mode_t>(archive_entry_perm(e));
    const auto type = archive_entry_filetype(e);
    if (hard != nullptr || type == AE_IFREG) {
        if (perm & S_ISUID) return unsafe_entry(name, "has the setuid bit");
        if (perm & S_ISGID) return unsafe_entry(name, "has the setgid bit");
    }
    if (hard != nullptr) {
        auto target = normalize_entry_path(name, hard, "is a hard link to");
        if (!target) return target.error();
        struct stat st {};
        if (!files_.contains(*target) || ::fstatat(dir_.get(), target->c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode)) {
            return unsafe_entry(name, "is a hard link to " + shown_entry_name(hard) + ", which is not a file extracted from this archive");
        }
        *link = std::move(*target);
        return {};
    }
    switch (type) {
    case AE_IFREG:
    case AE_IFDIR: return {};
    case AE_IFLNK: break;
    case AE_IFCHR: return unsafe_entry(name, "is a character device");
    case AE_IFBLK: return unsafe_entry(name, "is a block device");
    case AE_IFIFO: return unsafe_entry(name, "is a FIFO");
    case AE_IFSOCK: return unsafe_entry(name, "is a socket");
    default: return unsafe_entry(name, "has an unsupported type");
    }
    // A symlink: relative, its leading ".." stay under the root counted from the link's own directory
    // (a real directory: parents are never symlinks), and no ".." after a name — "x/.." depends on
    // what x points to, which cannot be checked without following it.
    const char* t = archive_entry_symlink(e);
    const std::string_view target = t ? t : "";
    if (target.empty()) return unsafe_entry(name, "is a symlink with an empty target");
    if (target.front() == '/') return unsafe_entry(name, "is a symlink to the absolute path " + shown_entry_name(target));
    const std::size_t depth = path_components(name).size() - 1;
    std::size_t ups = 0;
    bool named = false;
    for (auto c : path_components(target)) {
        if (c != "..") {
            named = true;
        } else if (named) {
            return unsafe_entry(name, "is a symlink to " + shown_entry_name(target) + ", which has \"..\" after a name");
        } else if (++ups > depth) {
            return unsafe_entry(name, "is a symlink to " + shown_entry_name(target) + ", outside the target directory");
        }
    }
    return {};
}

result<void> extractor::prepare_parents(const std::string& name) {
    for (auto slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
        const std::string parent = name.substr(0, slash);
        struct stat st {};
        if (::fstatat(dir_.get(), parent.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) return errno_error(errno, "checking " + shown_entry_name(parent));
            created_.push_back(parent);  // libarchive creates it
        } else if (S_ISLNK(st.st_mode)) {
            return unsafe_entry(name, "would be written through the symlink " + shown_entry_name(parent));
        } else if (!S_ISDIR(st.st_mode)) {
            created_.push_back(parent);  // libarchive replaces it with a directory
        }
    }
    return {};
}

result<void> extractor::prepare_final(const std::string& name, bool is_dir) {
    struct stat st {};
    if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) return errno_error(errno, "checking " + shown_entry_name(name));
    } else if (S_ISDIR(st.st_mode)) {
        if (is_dir) return {};  // merged into; kept on failure unless created by this call
    } else if (::unlinkat(dir_.get(), name.c_str(), 0) != 0) {
        return errno_error(errno, "replacing " + shown_entry_name(name));
    }
    created_.push_back(name);
    return {};
}

result<void> extractor::entry(archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
    if (raw == nullptr) return make_error(errc::bad_image, "damaged tar archive: an entry without a usable name");
    auto name = normalize_entry_path(raw, raw, "");
    if (!name) return name.error();
    const bool is_dir = archive_entry_filetype(e) == AE_IFDIR && archive_entry_hardlink(e) == nullptr;
    if (name->empty()) {
        if (is_dir) return {};  // "./": the root itself keeps its own mode
        return unsafe_entry(raw, "has no name");
    }
    std::string link;
    if (auto r = check_entry(e, *name, &link); !r) return r.error();
    if (archive_entry_filetype(e) == AE_IFREG && link.empty()) {
        if (auto r = count_size(e, *name); !r) return r.error();
    }
    if (auto r = prepare_parents(*name); !r) return r.error();
    if (auto r = prepare_final(*name, is_dir); !r) return r.error();

    archive_entry_set_perm(e, archive_entry_perm(e) & 0777);
    archive_entry_set_pathname(e, (dest_ / *name).c_str());
    if (!link.empty()) archive_entry_set_hardlink(e, (dest_ / link).c_str());
    if (archive_write_header(writer_.get(), e) < ARCHIVE_WARN) return write_error(*name, "creating");
    // Only regular entries carry data to write (a hard link may, in pax); any other entry's data,
    // such as a GNU dumpdir, is skipped by the reader.
    if (archive_entry_filetype(e) == AE_IFREG) {
        if (auto r = copy_data(*name); !r) return r.error();
    }
    const bool regular = archive_entry_filetype(e) == AE_IFREG && link.empty();
    if (archive_write_finish_entry(writer_.get()) < ARCHIVE_WARN) return write_error(*name, "finishing");
    if (regular) {
        ++result_.files;
        files_.insert(*name);
    }
    return {};
}

result<void> extractor::count_size(archive_entry* e, const std::string& name) {
    // The size in the header is the file's real length (GNU sparse and pax sparse members: their
    // realsize), so a sparse member of 1 TiB counts as 1 TiB, as zeros count for disk images.
    const la_int64_t size = archive_entry_size(e);
    if (size < 0) return make_error(errc::bad_image, "damaged tar archive: entry " + shown_entry_name(name) + " has a negative size");
    const auto n = static_cast<std::uint64_t>(size);
    if (n > opts_.capacity || logical_bytes_ > opts_.capacity - n) {
        return make_error(errc::too_large, "archive file size (holes included) is larger than the reported available storage (" +
                                               std::to_string(opts_.capacity) + " bytes) at entry " + shown_entry_name(name) +
                                               " of " + std::to_string(n) + " bytes");
    }
    logical_bytes_ += n;
    return {};
}

result<void> extractor::copy_data(const std::string& name) {
    for (;;) {
        if (canceled()) return make_error(errc::canceled, "archive extraction canceled");
        auto b = reader_.next_block();
        if (!b) return b.error();
        if (!*b) return {};
        const auto& blk = **b;
        result_.bytes += blk.data.size();
        if (result_.bytes > opts_.capacity) {
            return make_error(errc::too_large, "archive file data is larger than the reported available storage (" +
                                                   std::to_string(opts_.capacity) + " bytes)");
        }
        if (blk.data.empty()) continue;
        const la_ssize_t n = archive_write_data_block(writer_.get(), blk.data.data(), blk.data.size(),
                                                      static_cast<la_int64_t>(blk.offset));
        if (n < ARCHIVE_OK) return write_error(name, "writing");
    }
}

error extractor::write_error(std::string_view name, std::string_view doing) {
    const int en = archive_errno(writer_.get());
    const char* s = archive_error_string(writer_.get());
    const std::string text = s ? s : "unknown libarchive error";
    // libarchive's own refusals (SECURE_* checks) carry ARCHIVE_ERRNO_MISC; everything else is a
    // real errno from a system call.
    if (en <= 0) return unsafe_entry(name, "refused by libarchive: " + text);
    return errno_error(en, std::string(doing) + " archive entry " + shown_entry_name(name) + " (" + text + ")");
}

void extractor::cleanup() noexcept {
    // Freeing the writer applies its deferred directory modes first, so they cannot land afterwards.
    writer_.reset();
    if (!dir_) return;
    remove_extracted(dest_, created_);
}

}  // namespace

void remove_extracted(const std::filesystem::path& dest_dir, const std::vector<std::string>& created) noexcept {
    if (created.empty()) return;
    unique_fd dir(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return;
    // Directories created here may have been given modes without write permission.
    for (const auto& p : created) {
        struct stat st {};
        if (::fstatat(dir.get(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
            ::fchmodat(dir.get(), p.c_str(), 0700, 0);
        }
    }
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
        std::error_code ec;
        fs::remove_all(dest_dir / *it, ec);  // does not follow symlinks
    }
}

result<extract_result> extract_tar(source& src, const std::filesystem::path& dest_dir, const extract_options& opts,
                                   const cancel_token* cancel) {
    return extractor(src, opts, cancel).run(dest_dir);
}

}  // namespace cdi
