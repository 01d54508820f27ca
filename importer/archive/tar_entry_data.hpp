#pragma once
// The data of the current entry of an archive_reader as a flat byte stream of exactly the entry's
// size: the gaps of a sparse entry (GNU tar -S, pax sparse) come out as zeros. Shared by the
// readers that stream one entry (tar_entry_source, containerdisk_source).
#include "cdi/error.hpp"
#include "importer/archive/archive_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace cdi {

class tar_entry_data {
public:
    tar_entry_data(std::string path, std::uint64_t size) noexcept : path_(std::move(path)), size_(size) {}

    // 1..buf.size() bytes of the entry, or 0 once all size bytes are out (buf non-empty).
    // errc::bad_image for a sparse map out of order; reader errors unchanged.
    result<std::size_t> read(archive_reader& reader, std::span<std::byte> buf);

    bool done() const noexcept { return pos_ >= size_; }
    std::uint64_t size() const noexcept { return size_; }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::uint64_t size_;
    std::uint64_t pos_ = 0;                 // bytes of the entry delivered
    std::span<const std::byte> pending_;    // the rest of the current data block
    std::uint64_t pending_offset_ = 0;      // entry offset of pending_'s first byte
    bool data_end_ = false;                 // libarchive reported the end of the entry's data
};

}  // namespace cdi
