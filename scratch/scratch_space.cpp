#include "scratch/scratch_space.hpp"

#include "scratch/space.hpp"

#include <string>
#include <system_error>

namespace cdi {

result<scratch_space> scratch_space::open(const std::optional<std::filesystem::path>& dir) {
    if (!dir || dir->empty()) return make_error(errc::scratch_required, "no scratch space is mounted");
    auto avail = available_bytes(*dir);
    if (!avail) return make_error(errc::scratch_required, "no usable scratch space: " + avail.error().context);
    // A mounted scratch volume that is full is a full volume (E_NO_SPACE, exit 1), not a missing one:
    // "scratch required" makes the controller re-create the pod with the same scratch, forever.
    if (*avail == 0) return make_error(errc::no_space, "scratch space " + dir->string() + " has no free bytes");
    return scratch_space(*dir);
}

std::uint64_t scratch_space::available() const {
    auto avail = available_bytes(dir_);
    return avail ? *avail : 0;
}

result<void> scratch_space::check_fits(std::uint64_t bytes) const {
    const std::uint64_t avail = available();
    if (bytes > avail) {
        return make_error(errc::no_space, "scratch space has " + std::to_string(avail) +
                                              " bytes free, the image needs " + std::to_string(bytes));
    }
    return {};
}

result<scratch_file> scratch_space::stage(std::string_view name) const {
    const std::filesystem::path leaf(name);
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos) {
        return make_error(errc::bad_request, "invalid scratch file name \"" + std::string(name) + "\"");
    }
    std::filesystem::path p = dir_ / leaf;
    // remove_all removes a symlink itself, never what it points at.
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
    if (ec) return make_error(errc::io, "cannot remove stale scratch file " + p.string() + ": " + ec.message());
    return scratch_file::adopt(std::move(p));
}

}  // namespace cdi
