#pragma once
// The scratch volume (contract section 8): where a convertible image is staged before qemu-img
// converts it to the target. Presence is tested like CDI's Transfer: a scratch directory that is
// missing, cannot be statvfs'd or reports no free bytes means "no scratch", errc::scratch_required
// (CDI's ErrInvalidPath -> ErrRequiresScratchSpace, which makes the controller restart the pod with
// a scratch volume).
#include "cdi/error.hpp"
#include "scratch/scratch_file.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace cdi {

class scratch_space {
public:
    // nullopt (the pod has no scratch volume), a statvfs failure or 0 available bytes give
    // errc::scratch_required.
    static result<scratch_space> open(const std::optional<std::filesystem::path>& dir);

    // Bytes free now (statvfs is read again on each call; 0 when it fails).
    std::uint64_t available() const;

    // errc::no_space ("scratch space has N bytes free, the image needs M") when bytes do not fit now.
    // For early failure when the staged size is known (Content-Length, qcow2 file size).
    result<void> check_fits(std::uint64_t bytes) const;

    // A staged file dir()/name, removed with the returned object. A stale entry by that name (left by
    // an earlier attempt) is removed first. name must be one plain path component.
    result<scratch_file> stage(std::string_view name) const;

    const std::filesystem::path& dir() const noexcept { return dir_; }

private:
    explicit scratch_space(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

}  // namespace cdi
