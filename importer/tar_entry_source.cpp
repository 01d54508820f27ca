#include "importer/tar_entry_source.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstring>

namespace cdi {

tar_entry_source::tar_entry_source(source_ptr upstream, std::function<bool(std::string_view path)> select,
                                   std::string not_found_message)
    : upstream_(std::move(upstream)),
      reader_(std::make_unique<archive_reader>(*upstream_)),
      select_(std::move(select)),
      not_found_(std::move(not_found_message)) {}

tar_entry_source::~tar_entry_source() = default;

result<void> tar_entry_source::find() {
    for (;;) {
        auto e = reader_->next_entry();
        if (!e) return e.error();
        archive_entry* entry = *e;
        if (entry == nullptr) return make_error(errc::bad_image, not_found_);
        const char* name = archive_entry_pathname(entry);
        if (name == nullptr) name = archive_entry_pathname_utf8(entry);
        if (name == nullptr) continue;
        if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) continue;
        if (!select_(std::string_view(name))) continue;
        const la_int64_t size = archive_entry_size(entry);
        if (size < 0) return make_error(errc::bad_image, "damaged tar archive: negative size for the selected entry");
        path_ = name;
        size_ = static_cast<std::uint64_t>(size);
        return {};
    }
}

result<std::size_t> tar_entry_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return std::size_t{0};
    if (!size_) {
        if (auto r = find(); !r) return r.error();
    }
    const std::uint64_t size = *size_;
    for (;;) {
        if (pos_ >= size) {
            // The entry is out; the tail must still be a sound archive, and the upstream is read to its end.
            if (auto r = reader_->finish(); !r) return r.error();
            done_ = true;
            return std::size_t{0};
        }
        if (pending_.empty() && !data_end_) {
            auto b = reader_->next_block();
            if (!b) return b.error();
            if (!*b) {
                data_end_ = true;
            } else {
                pending_ = (*b)->data;
                pending_offset_ = (*b)->offset;
                if (pending_offset_ < pos_ || pending_offset_ + pending_.size() > size) {
                    return make_error(errc::bad_image, "damaged tar archive: sparse map of \"" + path_ + "\" is out of order");
                }
            }
            continue;
        }
        // A gap before the next block (or after the last one) is a hole: zeros.
        const std::uint64_t hole_end = pending_.empty() ? size : pending_offset_;
        if (pos_ < hole_end) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), hole_end - pos_));
            std::memset(buf.data(), 0, n);
            pos_ += n;
            return n;
        }
        const std::size_t n = std::min(buf.size(), pending_.size());
        std::memcpy(buf.data(), pending_.data(), n);
        pending_ = pending_.subspan(n);
        pending_offset_ += n;
        pos_ += n;
        return n;
    }
}

}  // namespace cdi
