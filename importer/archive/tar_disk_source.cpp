#include "importer/archive/tar_disk_source.hpp"

#include "cdi/ascii.hpp"
#include "importer/archive/entry_name.hpp"

#include <archive.h>
#include <archive_entry.h>

namespace cdi {

namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && ascii::iequals(s.substr(s.size() - suffix.size()), suffix);
}

bool is_descriptor(std::string_view name) { return ends_with_ci(name, ".ovf"); }
bool is_manifest(std::string_view name) { return ends_with_ci(name, ".mf") || ends_with_ci(name, ".cert"); }

std::string name_list(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 8; ++i) s += (i ? ", " : "") + shown_entry_name(names[i]);
    if (names.size() > 8) s += " and " + std::to_string(names.size() - 8) + " more";
    return s;
}

}  // namespace

tar_disk_source::tar_disk_source(source_ptr upstream)
    : upstream_(std::move(upstream)), reader_(std::make_unique<archive_reader>(*upstream_)) {}

tar_disk_source::~tar_disk_source() = default;

// The next regular file, directories skipped, every other kind of entry refused.
result<std::optional<tar_disk_source::file_entry>> tar_disk_source::next_file() {
    for (;;) {
        auto e = reader_->next_entry();
        if (!e) return e.error();
        archive_entry* entry = *e;
        if (entry == nullptr) return std::optional<file_entry>{};
        if (++entries_ > max_entries) {
            return make_error(errc::bad_image, "the tar holds more than " + std::to_string(max_entries) + " entries: not a disk's tar");
        }
        const char* raw = archive_entry_pathname(entry);
        if (raw == nullptr) raw = archive_entry_pathname_utf8(entry);
        if (raw == nullptr) return make_error(errc::bad_image, "damaged tar archive: an entry without a usable name");
        auto name = normalize_entry_path(raw, raw, "");
        if (!name) return name.error();
        if (archive_entry_hardlink(entry) != nullptr) return unsafe_entry(raw, "is a hard link: link entries are refused");
        switch (archive_entry_filetype(entry)) {
        case AE_IFDIR: continue;
        case AE_IFREG: break;
        case AE_IFLNK: return unsafe_entry(raw, "is a symlink: link entries are refused");
        case AE_IFCHR: return unsafe_entry(raw, "is a character device");
        case AE_IFBLK: return unsafe_entry(raw, "is a block device");
        case AE_IFIFO: return unsafe_entry(raw, "is a FIFO");
        case AE_IFSOCK: return unsafe_entry(raw, "is a socket");
        default: return unsafe_entry(raw, "has an unsupported type");
        }
        if (name->empty()) return unsafe_entry(raw, "has no name");
        const la_int64_t size = archive_entry_size(entry);
        if (size < 0) return make_error(errc::bad_image, "damaged tar archive: negative size for " + shown_entry_name(*name));
        return std::optional<file_entry>{file_entry{std::move(*name), static_cast<std::uint64_t>(size)}};
    }
}

result<std::vector<std::byte>> tar_disk_source::read_small(const file_entry& e) {
    if (e.size > max_ovf_bytes) {
        return make_error(errc::bad_image, "the OVF descriptor " + shown_entry_name(e.name) + " is " + std::to_string(e.size) +
                                               " bytes: at most " + std::to_string(max_ovf_bytes) + " are read");
    }
    std::vector<std::byte> bytes(static_cast<std::size_t>(e.size));
    tar_entry_data data(e.name, e.size);
    std::size_t got = 0;
    while (got < bytes.size()) {
        auto n = data.read(*reader_, std::span<std::byte>(bytes).subspan(got));
        if (!n) return n.error();
        if (*n == 0) return make_error(errc::bad_image, "damaged tar archive: " + shown_entry_name(e.name) + " ends early");
        got += *n;
    }
    return bytes;
}

result<ova_disk> tar_disk_source::descriptor_disk(const file_entry& e) {
    auto bytes = read_small(e);
    if (!bytes) return bytes.error();
    auto ovf = parse_ovf(*bytes);
    if (!ovf) return ovf.error();
    return single_ova_disk(*ovf);
}

result<void> tar_disk_source::open() {
    auto first = next_file();
    if (!first) return first.error();
    if (!*first) return make_error(errc::bad_image, "the tar holds no file: nothing to import as a disk");
    file_entry disk = std::move(**first);
    if (is_descriptor(disk.name)) {
        ovf_name_ = disk.name;
        auto chosen = descriptor_disk(disk);
        if (!chosen) return chosen.error();
        ova_ = std::move(*chosen);
        for (;;) {
            auto next = next_file();
            if (!next) return next.error();
            if (!*next) {
                return make_error(errc::bad_image, "the OVF descriptor " + shown_entry_name(ovf_name_) + " names the disk file " +
                                                       shown_entry_name(ova_->href) + ", which the OVA does not hold");
            }
            if ((*next)->name == ova_->href) {
                disk = std::move(**next);
                break;
            }
        }
        if (ova_->size && *ova_->size != disk.size) {
            return make_error(errc::bad_image, "the OVA's disk file " + shown_entry_name(disk.name) + " is " + std::to_string(disk.size) +
                                                   " bytes, its OVF descriptor says " + std::to_string(*ova_->size));
        }
    }
    path_ = disk.name;
    size_ = disk.size;
    data_.emplace(path_, disk.size);
    return {};
}

// After the disk's data: what else the archive may hold (see the contract), then its clean end.
result<void> tar_disk_source::finish() {
    std::vector<std::string> others;
    std::vector<std::string> manifests;
    std::string late_ovf;
    for (;;) {
        auto next = next_file();
        if (!next) return next.error();
        if (!*next) break;
        file_entry& e = **next;
        if (ova_) continue;  // a manifest, a certificate, files the descriptor references: not the disk
        if (is_descriptor(e.name) && late_ovf.empty()) {
            auto chosen = descriptor_disk(e);
            if (!chosen) return chosen.error();
            if (chosen->href != path_ || (chosen->size && *chosen->size != *size_)) {
                return make_error(errc::bad_image, "the OVF descriptor " + shown_entry_name(e.name) + " after the tar's first file " +
                                                       shown_entry_name(path_) + " (" + std::to_string(*size_) + " bytes) names " +
                                                       shown_entry_name(chosen->href) + " (" +
                                                       (chosen->size ? std::to_string(*chosen->size) + " bytes" : std::string("unstated size")) +
                                                       ") as its disk");
            }
            late_ovf = e.name;
            continue;
        }
        (is_manifest(e.name) ? manifests : others).push_back(std::move(e.name));
    }
    if (auto r = reader_->finish(); !r) return r;
    if (ova_) return {};
    if (late_ovf.empty()) others.insert(others.end(), manifests.begin(), manifests.end());
    if (!others.empty()) {
        others.insert(others.begin(), path_);
        return make_error(errc::bad_image, "the tar holds " + std::to_string(others.size()) + " files (" + name_list(others) +
                                               "): only a tar of exactly one file (or an OVA) is imported as a disk; "
                                               "content type archive unpacks a filesystem tree");
    }
    if (!late_ovf.empty()) ovf_name_ = late_ovf;
    return {};
}

result<std::size_t> tar_disk_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return std::size_t{0};
    if (!data_) {
        if (auto r = open(); !r) return r.error();
    }
    auto n = data_->read(*reader_, buf);
    if (!n || *n > 0) return n;
    if (auto r = finish(); !r) return r.error();
    done_ = true;
    return std::size_t{0};
}

std::string tar_disk_source::describe() const {
    if (ova_) return shown_entry_name(path_) + ", the disk of the OVA's descriptor " + shown_entry_name(ovf_name_);
    return shown_entry_name(path_) + ", the tar's first file";
}

}  // namespace cdi
