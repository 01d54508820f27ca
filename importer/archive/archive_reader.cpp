#include "importer/archive/archive_reader.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace cdi {

namespace {

// One upstream read fills up to this much; libarchive copies only the blocks that straddle two reads.
constexpr std::size_t buffer_size = std::size_t{1} << 20;

la_ssize_t read_callback(struct archive*, void* client, const void** out) {
    return static_cast<archive_reader*>(client)->pull(out);
}

std::string archive_text(struct archive* a) {
    const char* s = a ? archive_error_string(a) : nullptr;
    return s ? std::string(s) : std::string("unknown libarchive error");
}

}  // namespace

void archive_reader::archive_deleter::operator()(archive* a) const noexcept { archive_read_free(a); }

archive_reader::archive_reader(source& src) noexcept : src_(src) {}

archive_reader::~archive_reader() = default;

std::ptrdiff_t archive_reader::pull(const void** out) noexcept {
    *out = nullptr;
    if (upstream_eof_) return 0;
    if (!buf_) buf_ = std::make_unique_for_overwrite<std::byte[]>(buffer_size);
    auto n = src_.read(std::span<std::byte>(buf_.get(), buffer_size));
    if (!n) {
        src_error_ = n.error();
        archive_set_error(a_.get(), EIO, "upstream read failed");
        return -1;
    }
    if (*n == 0) upstream_eof_ = true;
    pulled_ += *n;
    *out = buf_.get();
    return static_cast<std::ptrdiff_t>(*n);
}

error archive_reader::translate(const char* doing) {
    if (src_error_) return *src_error_;
    std::string text = std::string(doing) + ": " + archive_text(a_.get());
    if (!any_header_) return make_error(errc::bad_image, "not a tar archive: " + archive_text(a_.get()));
    // The upstream ended cleanly (its own framing complete: a whole body, a whole gzip stream), so the
    // archive itself is short: damaged input (a 400 for an upload), not a transport failure.
    if (upstream_eof_) return make_error(errc::bad_image, "tar archive ends early: " + text);
    return make_error(errc::bad_image, "damaged tar archive: " + text);
}

result<void> archive_reader::open() {
    a_.reset(archive_read_new());
    if (!a_) return make_error(errc::io, "archive_read_new: out of memory");
    // Tar only: the pipeline has already unwrapped any compression, and another format (zip, cpio,
    // iso9660) must not be accepted by accident.
    if (archive_read_support_format_tar(a_.get()) != ARCHIVE_OK ||
        archive_read_support_filter_none(a_.get()) != ARCHIVE_OK) {
        return make_error(errc::io, "libarchive set-up: " + archive_text(a_.get()));
    }
    opened_ = true;
    if (archive_read_open(a_.get(), this, nullptr, read_callback, nullptr) != ARCHIVE_OK) {
        return translate("opening the archive");
    }
    return {};
}

result<archive_entry*> archive_reader::next_entry() {
    if (!opened_) {
        if (auto r = open(); !r) return r.error();
    }
    if (archive_eof_) return nullptr;
    archive_entry* entry = nullptr;
    for (;;) {
        int rc = archive_read_next_header(a_.get(), &entry);
        if (rc == ARCHIVE_EOF) {
            // Two zero blocks alone are a valid empty archive; no bytes at all are not a tar.
            if (!any_header_ && pulled_ == 0) return make_error(errc::bad_image, "not a tar archive: the stream is empty");
            archive_eof_ = true;
            return nullptr;
        }
        // ARCHIVE_WARN: the header was read (for example a name not convertible to the locale).
        if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) break;
        if (rc == ARCHIVE_RETRY) continue;
        return translate("reading an entry header");
    }
    any_header_ = true;
    return entry;
}

result<std::optional<archive_reader::block>> archive_reader::next_block() {
    const void* data = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
        int rc = archive_read_data_block(a_.get(), &data, &size, &offset);
        if (rc == ARCHIVE_EOF) return std::optional<block>{};
        if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) break;
        if (rc == ARCHIVE_RETRY) continue;
        return translate("reading entry data");
    }
    if (offset < 0) return make_error(errc::bad_image, "damaged tar archive: negative data offset");
    return std::optional<block>{block{
        std::span<const std::byte>(static_cast<const std::byte*>(data), size),
        static_cast<std::uint64_t>(offset)}};
}

result<void> archive_reader::finish() {
    for (;;) {
        auto e = next_entry();
        if (!e) return e.error();
        if (*e == nullptr) break;
    }
    while (!upstream_eof_) {
        const void* ignored = nullptr;
        if (pull(&ignored) < 0) return *src_error_;
    }
    return {};
}

}  // namespace cdi
