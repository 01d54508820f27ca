#pragma once
// A source over the data of ONE regular-file entry of a tar stream read from its upstream: the first
// entry whose path matches a predicate (filesystem-clone target: name contains "disk.img"; registry
// layers: the disk/ entry).
//
// Contract:
// - Entries before the match are skipped, as are matching entries that are not regular files
//   (directories, symlinks, hard links: a hard link carries no data of its own) — they are never
//   followed. The path given to the predicate is the entry's path as stored in the archive.
// - A sparse entry (GNU tar -S, pax sparse) yields its holes as zeros; exactly size bytes come out.
// - No matching entry → errc::bad_image with not_found_message as the context.
// - Once the entry's data is out, the rest of the archive is walked and the upstream read to its
//   clean end before read() returns 0, so a damaged or truncated tail is still an error and stages
//   above (checksum, digest) see the whole stream.
// - Errors: as archive_reader (upstream errors unchanged, bad_image, truncated).
// - size_hint() is nullopt until the entry is found (by the first read()), then its size.
#include "cdi/source.hpp"
#include "importer/archive/archive_reader.hpp"
#include "importer/archive/tar_entry_data.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

class tar_entry_source final : public source {
public:
    tar_entry_source(source_ptr upstream, std::function<bool(std::string_view path)> select,
                     std::string not_found_message);
    ~tar_entry_source() override;
    tar_entry_source(const tar_entry_source&) = delete;
    tar_entry_source& operator=(const tar_entry_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

    // The path of the entry found, empty before.
    const std::string& entry_path() const noexcept { return path_; }

private:
    result<void> find();

    source_ptr upstream_;  // declared before reader_: the reader borrows it
    std::unique_ptr<archive_reader> reader_;
    std::function<bool(std::string_view)> select_;
    std::string not_found_;
    std::string path_;
    std::optional<std::uint64_t> size_;
    std::optional<tar_entry_data> data_;  // once found
    bool done_ = false;
};

}  // namespace cdi
