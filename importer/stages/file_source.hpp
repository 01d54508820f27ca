#pragma once
// An origin reading a local file (the importer's file:// endpoints, scratch files, the bench).
// Reads are plain sequential read(2) calls into the caller's buffer: no copy, no page-cache tricks.
#include "cdi/source.hpp"
#include "cdi/unique_fd.hpp"

#include <filesystem>

namespace cdi {

class file_source final : public source {
public:
    // Opens path read-only; a missing or unreadable file is an errc::io error naming it.
    static result<std::unique_ptr<file_source>> open(const std::filesystem::path& path);

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

private:
    file_source(unique_fd fd, std::optional<std::uint64_t> size, std::filesystem::path path)
        : fd_(std::move(fd)), size_(size), path_(std::move(path)) {}
    unique_fd fd_;
    std::optional<std::uint64_t> size_;
    std::filesystem::path path_;
};

}  // namespace cdi
