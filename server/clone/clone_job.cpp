#include "server/clone/clone_job.hpp"

#include "cdi/unique_fd.hpp"
#include "convert/overlapped_copy.hpp"
#include "convert/sparse_writer.hpp"
#include "convert/target_sink.hpp"
#include "importer/stages/counting_source.hpp"
#include "server/clone/snappy_frame_source.hpp"
#include "importer/archive/tar_entry_source.hpp"
#include "importer/archive/tar_extractor.hpp"
#include "convert/target_volume.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

namespace cdi {
namespace fs = std::filesystem;

std::optional<clone_kind> clone_kind_from_header(std::string_view value) {
    if (value == "blockdevice-clone") return clone_kind::blockdevice;
    if (value == "filesystem-clone") return clone_kind::filesystem;
    return std::nullopt;
}

clone_job::clone_job(job_spec spec, clone_kind kind, progress& prog, const cancel_token& cancel)
    : spec_(std::move(spec)), kind_(kind), progress_(prog), cancel_(cancel) {}

result<job_result> clone_job::run(source_ptr framed) {
    if (auto total = framed->size_hint()) progress_.set_wire_total(*total);
    source_ptr stream =
        std::make_unique<snappy_frame_source>(std::make_unique<counting_source>(std::move(framed), progress_));
    const bool block_target = spec_.block_volume;  // target_capacity refuses one that is not a block device
    result<void> r;
    if (kind_ == clone_kind::blockdevice) {
        progress_.set_phase(phase::transfer_data_file);
        r = to_device_or_file(*stream, block_target);
    } else if (block_target) {
        // CDI: the first tar entry whose name contains "disk.img" is the volume's disk.
        progress_.set_phase(phase::transfer_data_file);
        tar_entry_source disk(
            std::move(stream), [](std::string_view name) { return name.find("disk.img") != std::string_view::npos; },
            "no disk image found in tar");
        r = to_device_or_file(disk, true);
    } else {
        progress_.set_phase(phase::transfer_data_dir);
        r = to_directory(*stream);
    }
    if (!r) {
        progress_.set_phase(phase::error);
        return r.error();
    }
    progress_.mark_transfer_done();
    progress_.mark_validated();
    progress_.set_phase(phase::complete);
    progress_.mark_complete();
    return result_;
}

result<void> clone_job::to_device_or_file(source& raw, bool block_target) {
    auto cap = target_capacity(spec_, block_target);
    if (!cap) return cap.error();
    const target_options opts{.capacity = *cap, .preallocate = spec_.preallocate, .direct_io = true};
    auto opened = open_target(spec_.target, block_target, opts);
    if (!opened) return opened.error();
    std::unique_ptr<target_sink> target = std::move(*opened);
    if (!buffer_) buffer_.emplace(2 * copy_buffer_size);

    sparse_writer sparse(*target);
    auto copied = overlapped_copy(raw, sparse, buffer_->span().first(copy_buffer_size), buffer_->span().last(copy_buffer_size), &cancel_);
    result<void> flushed = copied ? sparse.flush() : result<void>(copied.error());  // deferred zeros, then fsync
    if (!flushed) {
        target->discard();  // a created file goes; a block device stays as is
        if (!block_target) spdlog::info("Removed the incomplete target {}", spec_.target.string());
        return flushed.error();
    }
    result_.virtual_size = *copied;
    result_.data_bytes = sparse.data_bytes();
    result_.preallocation_applied = spec_.preallocate && (block_target || target->preallocation_applied());
    spdlog::info("Clone wrote {} bytes to {} ({} bytes of data, the rest zero)", result_.virtual_size,
                 spec_.target.string(), result_.data_bytes);
    return {};
}

result<void> clone_job::to_directory(source& tar) {
    auto cap = target_capacity(spec_, false);
    if (!cap) return cap.error();
    auto extracted = extract_tar(tar, spec_.data_dir, extract_options{.capacity = *cap}, &cancel_);
    if (!extracted) return extracted.error();
    result_.data_bytes = extracted->bytes;
    result_.preallocation_applied = spec_.preallocate && preallocate_tree();
    spdlog::info("Clone unpacked {} files ({} bytes of data) into {}", extracted->files, extracted->bytes,
                 spec_.data_dir.string());
    return {};
}

// Allocates the holes of every regular file under data_dir (fallocate keeps the sizes). A source that
// preallocates sends no sparse members, so this normally finds nothing to do; it makes the report
// true either way. Best effort: a filesystem without fallocate (or out of space) is reported as not
// preallocated rather than failing a clone whose data is complete.
bool clone_job::preallocate_tree() {
    std::error_code ec;
    fs::recursive_directory_iterator it(spec_.data_dir, fs::directory_options::none, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
        unique_fd fd(::open(it->path().c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (!fd || ::fstat(fd.get(), &st) != 0) {
            spdlog::warn("Not preallocated: cannot open {}: {}", it->path().string(), std::strerror(errno));
            return false;
        }
        if (st.st_size > 0 && (::fallocate(fd.get(), 0, 0, st.st_size) != 0 || ::fsync(fd.get()) != 0)) {
            spdlog::warn("Not preallocated: {}: {}", it->path().string(), std::strerror(errno));
            return false;
        }
    }
    if (ec) {
        spdlog::warn("Not preallocated: walking {}: {}", spec_.data_dir.string(), ec.message());
        return false;
    }
    return true;
}

}  // namespace cdi
