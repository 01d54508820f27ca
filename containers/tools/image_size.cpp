#include "containers/tools/image_size.hpp"

#include "convert/image_inspector.hpp"
#include "convert/image_reader.hpp"
#include "convert/qemu_img.hpp"
#include "importer/stages/file_source.hpp"
#include "importer/stages/pipeline.hpp"

#include <limits>
#include <string>

namespace cdi {

namespace {

// The format the file's first bytes name. A compressed file is refused (only its head is decompressed,
// to name it): it has no virtual size short of decompressing all of it, and no PVC holds one as its disk.
result<image_format> sniffed_format(const std::filesystem::path& path) {
    auto file = file_source::open(path);
    if (!file) return file.error();
    auto head = build_pipeline(std::move(*file));
    if (!head) return head.error();
    if (!head->layers.empty()) {
        return make_error(errc::bad_image, path.string() + " is " + std::string(to_string(head->layers.front())) +
                                               "-compressed, not a disk image");
    }
    return head->format;
}

}  // namespace

result<std::uint64_t> image_virtual_size(const std::filesystem::path& path, const qemu_img& qemu) {
    auto format = sniffed_format(path);
    if (!format) return format.error();
    if (*format == image_format::raw) {
        // A fixed VHD carries its footer only at the end, where the sniffer does not look.
        auto file = image_reader::open(path);
        if (!file) return file.error();
        auto found = matching_formats(*file);
        if (!found) return found.error();
        if (found->size() == 1) *format = found->front();
    }
    if (qemu_format_name(*format).empty()) {
        return make_error(errc::bad_image, path.string() + " is a " + std::string(to_string(*format)) + " file, not a disk image");
    }
    auto inspected = inspect_image(path, *format, inspect_limits{.capacity = std::numeric_limits<std::uint64_t>::max()});
    if (!inspected) return inspected.error();
    if (!needs_conversion(*format)) return inspected->virtual_size;
    auto info = qemu.info(path, qemu_format_name(*format));
    if (!info) return info.error();
    return info->virtual_size;
}

}  // namespace cdi
