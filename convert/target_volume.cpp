#include "convert/target_volume.hpp"

#include "convert/target_sink.hpp"
#include "scratch/space.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cdi {

result<std::uint64_t> target_capacity(const job_spec& spec, bool block_target) {
    if (block_target) return block_device_size(spec.target);  // CDI: blockdev --getsize64
    auto avail = available_bytes(spec.data_dir);
    if (!avail) return avail.error();
    std::uint64_t cap = *avail;
    struct stat st {};
    if (::stat(spec.target.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        cap += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    if (spec.requested_size && *spec.requested_size < cap) cap = *spec.requested_size;
    return cap;
}

result<void> remove_file_if_present(const std::filesystem::path& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(errno, "cannot remove " + path.string());
    return {};
}

result<std::unique_ptr<target_sink>> open_target(const std::filesystem::path& path, bool block_target,
                                                 const target_options& opts) {
    if (block_target) return target_sink::open_block(path, opts);
    if (auto r = remove_file_if_present(path); !r) return r.error();
    return target_sink::create_file(path, opts);
}

}  // namespace cdi
