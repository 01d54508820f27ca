#include "importer/archive/tar_entry_source.hpp"

#include <archive.h>
#include <archive_entry.h>


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
        data_.emplace(path_, *size_);
        return {};
    }
}

result<std::size_t> tar_entry_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return std::size_t{0};
    if (!data_) {
        if (auto r = find(); !r) return r.error();
    }
    auto n = data_->read(*reader_, buf);
    if (!n || *n > 0) return n;
    // The entry is out; the tail must still be a sound archive, and the upstream is read to its end.
    if (auto r = reader_->finish(); !r) return r.error();
    done_ = true;
    return std::size_t{0};
}

}  // namespace cdi
