// A FUSE passthrough filesystem that fails on command, for the storage fault tests (issue 17):
//
//     faulty_fs BACKING MOUNTPOINT KIND AFTER
//
// mirrors directory BACKING at MOUNTPOINT (foreground, one thread; ends when unmounted) and injects
// one fault into every file below it:
//     write-eio      write(2) fails with EIO once AFTER bytes were written in all
//     write-enospc   the same with ENOSPC, as a full volume does
//     fsync-eio      fsync(2) and fdatasync(2) of a file fail with EIO; writes succeed
//     none           no fault (the control that shows the passthrough itself works)
// statfs reports BACKING's numbers, so the capacity a job computes is real. Direct I/O to the
// daemon (no page cache, no writeback cache), so a write error reaches the writer's own call, as a
// failing disk's does under O_DIRECT. Device-mapper is not in this kernel; FUSE is (libfuse 3).
#define FUSE_USE_VERSION 35
#include <fuse.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

enum class fault { none, write_eio, write_enospc, fsync_eio };

std::string g_backing;
fault g_fault = fault::none;
std::uint64_t g_after = 0;
std::uint64_t g_written = 0;

std::string real(const char* path) { return g_backing + path; }
int neg_errno(int r) { return r < 0 ? -errno : r; }

int fs_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
    if (fi) return neg_errno(::fstat(static_cast<int>(fi->fh), st));
    return neg_errno(::lstat(real(path).c_str(), st));
}

int fs_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
    DIR* d = ::opendir(real(path).c_str());
    if (!d) return -errno;
    while (dirent* e = ::readdir(d)) fill(buf, e->d_name, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    ::closedir(d);
    return 0;
}

int fs_open(const char* path, fuse_file_info* fi) {
    // O_DIRECT is dropped on the backing file: the daemon gets the kernel's buffers, not the caller's.
    const int fd = ::open(real(path).c_str(), fi->flags & ~O_DIRECT);
    if (fd < 0) return -errno;
    fi->fh = static_cast<std::uint64_t>(fd);
    fi->direct_io = 1;
    return 0;
}

int fs_create(const char* path, mode_t mode, fuse_file_info* fi) {
    const int fd = ::open(real(path).c_str(), (fi->flags & ~O_DIRECT) | O_CREAT, mode);
    if (fd < 0) return -errno;
    fi->fh = static_cast<std::uint64_t>(fd);
    fi->direct_io = 1;
    return 0;
}

int fs_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
    return static_cast<int>(neg_errno(static_cast<int>(::pread(static_cast<int>(fi->fh), buf, size, off))));
}

int fs_write(const char*, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
    if ((g_fault == fault::write_eio || g_fault == fault::write_enospc) && g_written + size > g_after) {
        return g_fault == fault::write_eio ? -EIO : -ENOSPC;
    }
    const ssize_t n = ::pwrite(static_cast<int>(fi->fh), buf, size, off);
    if (n < 0) return -errno;
    g_written += static_cast<std::uint64_t>(n);
    return static_cast<int>(n);
}

int fs_fsync(const char*, int datasync, fuse_file_info* fi) {
    if (g_fault == fault::fsync_eio) return -EIO;
    return neg_errno(datasync ? ::fdatasync(static_cast<int>(fi->fh)) : ::fsync(static_cast<int>(fi->fh)));
}

int fs_fsyncdir(const char*, int, fuse_file_info*) { return 0; }
int fs_flush(const char*, fuse_file_info*) { return 0; }
int fs_release(const char*, fuse_file_info* fi) { return neg_errno(::close(static_cast<int>(fi->fh))); }

int fs_truncate(const char* path, off_t size, fuse_file_info* fi) {
    if (fi) return neg_errno(::ftruncate(static_cast<int>(fi->fh), size));
    return neg_errno(::truncate(real(path).c_str(), size));
}

int fs_fallocate(const char*, int mode, off_t off, off_t len, fuse_file_info* fi) {
    if (g_fault == fault::write_enospc) return -ENOSPC;
    return ::fallocate(static_cast<int>(fi->fh), mode, off, len) < 0 ? -errno : 0;
}

int fs_unlink(const char* path) { return neg_errno(::unlink(real(path).c_str())); }
int fs_rmdir(const char* path) { return neg_errno(::rmdir(real(path).c_str())); }
int fs_mkdir(const char* path, mode_t mode) { return neg_errno(::mkdir(real(path).c_str(), mode)); }
int fs_symlink(const char* target, const char* path) { return neg_errno(::symlink(target, real(path).c_str())); }
int fs_link(const char* from, const char* to) { return neg_errno(::link(real(from).c_str(), real(to).c_str())); }
int fs_chmod(const char* path, mode_t mode, fuse_file_info*) { return neg_errno(::chmod(real(path).c_str(), mode)); }

int fs_rename(const char* from, const char* to, unsigned int flags) {
    if (flags) return -EINVAL;
    return neg_errno(::rename(real(from).c_str(), real(to).c_str()));
}

int fs_chown(const char* path, uid_t uid, gid_t gid, fuse_file_info*) {
    return neg_errno(::lchown(real(path).c_str(), uid, gid));
}

int fs_readlink(const char* path, char* buf, size_t size) {
    const ssize_t n = ::readlink(real(path).c_str(), buf, size - 1);
    if (n < 0) return -errno;
    buf[n] = '\0';
    return 0;
}

int fs_utimens(const char* path, const timespec tv[2], fuse_file_info*) {
    return neg_errno(::utimensat(AT_FDCWD, real(path).c_str(), tv, AT_SYMLINK_NOFOLLOW));
}

int fs_statfs(const char*, struct statvfs* st) { return neg_errno(::statvfs(g_backing.c_str(), st)); }

void* fs_init(fuse_conn_info*, fuse_config* cfg) {
    cfg->use_ino = 1;
    cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: faulty_fs BACKING MOUNTPOINT none|write-eio|write-enospc|fsync-eio AFTER\n");
        return 2;
    }
    g_backing = argv[1];
    const std::string kind = argv[3];
    if (kind == "write-eio") g_fault = fault::write_eio;
    else if (kind == "write-enospc") g_fault = fault::write_enospc;
    else if (kind == "fsync-eio") g_fault = fault::fsync_eio;
    else if (kind != "none") {
        std::fprintf(stderr, "faulty_fs: unknown fault %s\n", argv[3]);
        return 2;
    }
    g_after = std::strtoull(argv[4], nullptr, 10);

    fuse_operations ops{};
    ops.getattr = fs_getattr;
    ops.readlink = fs_readlink;
    ops.mkdir = fs_mkdir;
    ops.unlink = fs_unlink;
    ops.rmdir = fs_rmdir;
    ops.symlink = fs_symlink;
    ops.rename = fs_rename;
    ops.link = fs_link;
    ops.chmod = fs_chmod;
    ops.chown = fs_chown;
    ops.truncate = fs_truncate;
    ops.open = fs_open;
    ops.read = fs_read;
    ops.write = fs_write;
    ops.statfs = fs_statfs;
    ops.flush = fs_flush;
    ops.release = fs_release;
    ops.fsync = fs_fsync;
    ops.readdir = fs_readdir;
    ops.fsyncdir = fs_fsyncdir;
    ops.init = fs_init;
    ops.create = fs_create;
    ops.utimens = fs_utimens;
    ops.fallocate = fs_fallocate;

    // -f foreground, -s one thread (the byte count is exact), allow_other: the jobs may drop privileges.
    std::string mountpoint = argv[2];
    char prog[] = "faulty_fs", f[] = "-f", s[] = "-s", o[] = "-o", opts[] = "allow_other,fsname=faulty_fs";
    char* fargv[] = {prog, f, s, o, opts, mountpoint.data(), nullptr};
    return fuse_main(6, fargv, &ops, nullptr);
}
