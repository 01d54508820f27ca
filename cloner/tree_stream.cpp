#include "cloner/tree_stream.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <cerrno>
#include <memory>

namespace cdi {

namespace fs = std::filesystem;

namespace {

struct read_deleter {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
struct write_deleter {
    void operator()(archive* a) const noexcept { archive_write_free(a); }
};
struct entry_deleter {
    void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};
struct resolver_deleter {
    void operator()(archive_entry_linkresolver* r) const noexcept { archive_entry_linkresolver_free(r); }
};
using unique_reader = std::unique_ptr<archive, read_deleter>;
using unique_writer = std::unique_ptr<archive, write_deleter>;
using unique_entry = std::unique_ptr<archive_entry, entry_deleter>;

// The writer's output callback: everything libarchive emits goes to the framed pipe.
struct sink_context {
    framed_pipe* out;
    std::optional<error> failure;
};

la_ssize_t write_out(archive*, void* ctx, const void* buf, size_t len) {
    auto* c = static_cast<sink_context*>(ctx);
    if (auto r = c->out->write(std::span<const std::byte>(static_cast<const std::byte*>(buf), len)); !r) {
        c->failure = r.error();
        return -1;
    }
    return static_cast<la_ssize_t>(len);
}

std::string archive_text(archive* a) {
    const char* s = archive_error_string(a);
    return s ? s : "unknown libarchive error";
}

constexpr std::size_t zero_size = 1 << 20;

class tree_writer {
public:
    tree_writer(framed_pipe& out, bool sparse) : sparse_(sparse), sink_{&out, std::nullopt} {}

    result<void> open() {
        writer_.reset(archive_write_new());
        resolver_.reset(archive_entry_linkresolver_new());
        if (!writer_ || !resolver_) return make_error(errc::io, "libarchive: out of memory");
        archive_entry_linkresolver_set_strategy(resolver_.get(), ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        archive_write_set_format_pax_restricted(writer_.get());
        archive_write_set_bytes_per_block(writer_.get(), 10240);  // tar's default record
        if (archive_write_open2(writer_.get(), &sink_, nullptr, write_out, nullptr, nullptr) != ARCHIVE_OK) {
            return write_error("opening the tar writer");
        }
        return {};
    }

    result<void> add_tree(const fs::path& root, const std::string& name) {
        unique_reader disk(archive_read_disk_new());
        if (!disk) return make_error(errc::io, "libarchive: out of memory");
        archive_read_disk_set_symlink_physical(disk.get());
        // Sparse detection stays on either way: the reader then skips holes (never reads them).
        archive_read_disk_set_behavior(disk.get(),
                                       ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS);
        const fs::path top = root / name;
        if (archive_read_disk_open(disk.get(), top.c_str()) != ARCHIVE_OK) {
            return make_error(errc::io, "reading " + top.string() + ": " + archive_text(disk.get()));
        }
        const std::string prefix = root.string() + "/";
        for (;;) {
            unique_entry entry(archive_entry_new());
            const int r = archive_read_next_header2(disk.get(), entry.get());
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                return make_error(errc::io, "reading under " + top.string() + ": " + archive_text(disk.get()));
            }
            archive_read_disk_descend(disk.get());
            std::string path = archive_entry_pathname(entry.get());
            if (path.starts_with(prefix)) path.erase(0, prefix.size());
            if (archive_entry_filetype(entry.get()) == AE_IFSOCK) {
                // tar has no member type for a socket: GNU tar skips it with a warning, and so do we.
                spdlog::warn("{}: socket ignored", path);
                continue;
            }
            archive_entry_copy_pathname(entry.get(), path.c_str());
            archive_entry_copy_sourcepath(entry.get(), (root / path).c_str());
            if (auto w = add_entry(disk.get(), std::move(entry)); !w) return w;
        }
        return {};
    }

    result<void> close() {
        // Hard links whose other names were never seen still need their entry (with data: none left to read).
        archive_entry* spare = nullptr;
        archive_entry* e = nullptr;
        archive_entry_linkify(resolver_.get(), &e, &spare);
        while (e) {
            if (archive_write_header(writer_.get(), e) != ARCHIVE_OK) return write_error("writing a link");
            archive_entry_free(e);
            e = nullptr;
            archive_entry_linkify(resolver_.get(), &e, &spare);
        }
        if (archive_write_close(writer_.get()) != ARCHIVE_OK) return write_error("ending the tar stream");
        return {};
    }

private:
    result<void> write_error(const std::string& what) {
        if (sink_.failure) return *sink_.failure;
        return make_error(errc::io, what + ": " + archive_text(writer_.get()));
    }

    result<void> add_entry(archive* disk, unique_entry entry) {
        archive_entry_set_uname(entry.get(), nullptr);
        archive_entry_set_gname(entry.get(), nullptr);
        archive_entry_unset_atime(entry.get());
        archive_entry_unset_ctime(entry.get());
        archive_entry_unset_birthtime(entry.get());
        // Without -S (preallocation) the member is plain: its holes travel as zeros (zeros() below).
        if (!sparse_) archive_entry_sparse_clear(entry.get());
        archive_entry* e = entry.release();
        archive_entry* spare = nullptr;
        archive_entry_linkify(resolver_.get(), &e, &spare);
        // e is now the entry to write (or null: held until its last link); with data when it still has a size.
        const bool has_data = e && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
                              archive_entry_hardlink(e) == nullptr;
        result<void> r = e ? write_entry(disk, e, has_data) : result<void>{};
        if (e) archive_entry_free(e);
        if (r && spare) r = write_entry(disk, spare, false);
        if (spare) archive_entry_free(spare);
        return r;
    }

    result<void> write_entry(archive* disk, archive_entry* e, bool with_data) {
        if (archive_write_header(writer_.get(), e) < ARCHIVE_WARN) return write_error("writing the header of " + std::string(archive_entry_pathname(e)));
        if (!with_data) return {};
        const auto size = static_cast<std::uint64_t>(archive_entry_size(e));
        std::uint64_t pos = 0;
        for (;;) {
            const void* buf = nullptr;
            size_t len = 0;
            la_int64_t off = 0;
            const int r = archive_read_data_block(disk, &buf, &len, &off);
            if (r == ARCHIVE_EOF) break;
            if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
                return make_error(errc::io, "reading " + std::string(archive_entry_pathname(e)) + ": " + archive_text(disk));
            }
            if (auto z = zeros(static_cast<std::uint64_t>(off), pos); !z) return z;
            if (auto w = data(buf, len); !w) return w;
            pos = static_cast<std::uint64_t>(off) + len;
        }
        // The tail hole, and a file that shrank while read (tar's header already promised its size).
        return zeros(size, pos);
    }

    // A hole from pos to until: the pax writer skips the bytes of a sparse member's holes without
    // emitting them; a member without a sparse map gets them as zeros. Nothing is read from disk.
    result<void> zeros(std::uint64_t until, std::uint64_t& pos) {
        if (until <= pos) return {};
        if (!zero_) zero_ = std::make_unique<std::byte[]>(zero_size);
        while (pos < until) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zero_size, until - pos));
            if (auto w = data(zero_.get(), n); !w) return w;
            pos += n;
        }
        return {};
    }

    result<void> data(const void* buf, std::size_t len) {
        const auto* p = static_cast<const char*>(buf);
        while (len > 0) {
            const la_ssize_t n = archive_write_data(writer_.get(), p, len);
            if (n < 0) return write_error("writing data");
            if (n == 0) return {};  // past the header's size: the file grew while read; tar keeps the size it promised
            p += n;
            len -= static_cast<std::size_t>(n);
        }
        return {};
    }

    bool sparse_;
    sink_context sink_;
    unique_writer writer_;
    std::unique_ptr<archive_entry_linkresolver, resolver_deleter> resolver_;
    std::unique_ptr<std::byte[]> zero_;
};

}  // namespace

result<std::vector<std::string>> top_level_entries(const fs::path& root) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (name != "lost+found") names.push_back(std::move(name));
    }
    if (ec) return errno_error(ec.value(), "listing " + root.string());
    std::sort(names.begin(), names.end());
    return names;
}

result<void> stream_tree(const fs::path& root, bool sparse, framed_pipe& out) {
    auto names = top_level_entries(root);
    if (!names) return names.error();
    tree_writer w(out, sparse);
    if (auto r = w.open(); !r) return r;
    for (const auto& name : *names) {
        if (auto r = w.add_tree(root, name); !r) return r;
    }
    return w.close();
}

}  // namespace cdi
