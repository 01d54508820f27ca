#include "importer/job/blank_disk.hpp"

#include "convert/aligned_buffer.hpp"
#include "convert/durable.hpp"
#include "convert/target_sink.hpp"
#include "scratch/space.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

namespace cdi {
namespace {

result<job_result> fill_block_device_with_zeros(const job_spec& spec, const cancel_token& cancel) {
    auto target = target_sink::open_block(spec.target, target_options{.capacity = std::nullopt, .preallocate = false, .direct_io = true});
    if (!target) return target.error();
    const std::uint64_t size = (*target)->capacity().value_or(0);
    aligned_buffer zeros(8 << 20);  // pre-faulted and zero-filled once
    auto span = zeros.span();
    std::fill(span.begin(), span.end(), std::byte{0});
    std::uint64_t done = 0;
    while (done < size) {
        if (cancel.canceled()) return make_error(errc::canceled, "blank disk creation canceled");
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(span.size(), size - done));
        if (auto r = (*target)->write(span.first(n)); !r) return r.error();
        done += n;
    }
    if (auto r = (*target)->flush(); !r) return r.error();
    return job_result{.format = image_format::raw, .virtual_size = size, .data_bytes = size, .preallocation_applied = true};
}

// Without preallocation a blank block volume must still read as zeros: a device from a pool holds its
// last tenant's data (security.md 5.1). An image of length 0 flushed through target_sink zeroes the
// whole device its cheapest way (BLKZEROOUT: the device's write-zeroes or unmap where it has one).
result<job_result> zero_block_device_cheaply(const job_spec& spec) {
    auto target = target_sink::open_block(spec.target, target_options{.capacity = std::nullopt, .preallocate = false, .direct_io = true});
    if (!target) return target.error();
    const std::uint64_t size = (*target)->capacity().value_or(0);
    if (auto r = (*target)->flush(); !r) return r.error();
    return job_result{.format = image_format::raw, .virtual_size = size, .data_bytes = 0, .preallocation_applied = false};
}

}  // namespace

std::optional<std::string> blank_disk_refusal(const job_spec& spec) {
    if (spec.content == content_type::archive) return "Cannot create empty disk with content type archive";
    return std::nullopt;
}

result<job_result> create_blank_disk(const job_spec& spec, const qemu_img& qemu, const cancel_token& cancel) {
    if (auto refused = blank_disk_refusal(spec)) return make_error(errc::bad_request, std::move(*refused));
    if (spec.block_volume) {
        // A file or symlink there is a configuration error, refused before anything is written.
        if (auto dev = block_device_size(spec.target); !dev) return dev.error();
        if (!spec.preallocate) {
            spdlog::info("Zeroing blank block volume {}", spec.target.string());
            return zero_block_device_cheaply(spec);
        }
        spdlog::info("Preallocating blank block volume {}", spec.target.string());
        return fill_block_device_with_zeros(spec, cancel);
    }

    auto avail = available_bytes(spec.data_dir);
    if (!avail) return avail.error();
    std::uint64_t size = *avail;
    if (spec.requested_size) {
        if (*spec.requested_size > size) {
            spdlog::warn("Available space {} is less than the requested size {}", size, *spec.requested_size);
        }
        size = std::min(size, *spec.requested_size);
    }
    std::uint64_t usable = usable_space(size, spec.filesystem_overhead);
    if (usable == 0) return make_error(errc::no_space, "no usable space for a blank disk in " + spec.data_dir.string());
    if (::unlink(spec.target.c_str()) != 0 && errno != ENOENT) return errno_error(errno, "remove " + spec.target.string());
    auto fail = [&](error e) -> result<job_result> {
        ::unlink(spec.target.c_str());
        return e;
    };
    if (auto r = qemu.create_raw(spec.target, usable, spec.preallocate); !r) return fail(r.error());
    if (auto r = make_durable(spec.target, 0660); !r) return fail(r.error());
    return job_result{.format = image_format::raw, .virtual_size = usable, .data_bytes = 0,
                      .preallocation_applied = spec.preallocate};
}

}  // namespace cdi
