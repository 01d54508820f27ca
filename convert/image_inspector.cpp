#include "convert/image_inspector.hpp"

#include "convert/image_reader.hpp"
#include "convert/qcow2_header.hpp"
#include "convert/vdi_header.hpp"
#include "convert/vhd_header.hpp"
#include "convert/vhdx_header.hpp"
#include "convert/vmdk_header.hpp"

#include <array>
#include <string>

namespace cdi {
namespace {

// qemu's vmdk_probe for descriptor text: comment and blank lines, then "version=1|2|3".
bool is_vmdk_descriptor(std::span<const std::byte> head) {
    const std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (line.empty() || line.front() == '#') {
            if (nl == std::string_view::npos) return false;
            pos = nl + 1;
            continue;
        }
        return line == "version=1" || line == "version=2" || line == "version=3";
    }
    return false;
}

std::string name_of(image_format f) { return std::string(to_string(f)); }

std::string both(const std::vector<image_format>& found) {
    std::string out;
    for (std::size_t i = 0; i < found.size(); ++i) {
        if (i > 0) out += i + 1 == found.size() ? " and " : ", ";
        out += name_of(found[i]);
    }
    return out;
}

bool is_inspectable(image_format f) {
    switch (f) {
    case image_format::raw:
    case image_format::iso:
    case image_format::qcow2:
    case image_format::vmdk:
    case image_format::vdi:
    case image_format::vhd:
    case image_format::vhdx:
    case image_format::qed:
    case image_format::qcow1: return true;
    default: return false;
    }
}

result<std::uint64_t> format_virtual_size(const image_reader& file, image_format f) {
    switch (f) {
    case image_format::qcow2: {
        auto h = qcow2_header::read(file);
        if (!h) return h.error();
        return h->virtual_size();
    }
    case image_format::vmdk: {
        auto h = vmdk_header::read(file);
        if (!h) return h.error();
        return h->virtual_size();
    }
    case image_format::vdi: {
        auto h = vdi_header::read(file);
        if (!h) return h.error();
        return h->virtual_size();
    }
    case image_format::vhd: {
        auto h = vhd_header::read(file);
        if (!h) return h.error();
        return h->virtual_size();
    }
    case image_format::vhdx: {
        auto h = vhdx_header::read(file);
        if (!h) return h.error();
        return h->virtual_size();
    }
    default: return file.size();
    }
}

}  // namespace

result<std::vector<image_format>> matching_formats(const image_reader& file) {
    std::vector<image_format> found;
    std::array<std::byte, 4096> head{};
    auto n = file.read_some(0, head);
    if (!n) return n.error();
    const auto h = std::span<const std::byte>(head).first(*n);
    if (bytes_equal(h, 0, "QFI\xfb")) found.push_back(h.size() >= 8 && load_be32(h, 4) == 1 ? image_format::qcow1 : image_format::qcow2);
    if (bytes_equal(h, 0, std::string_view("QED\0", 4))) found.push_back(image_format::qed);
    if (bytes_equal(h, 0, "KDMV") || bytes_equal(h, 0, "COWD") || is_vmdk_descriptor(h)) found.push_back(image_format::vmdk);
    if (h.size() >= 0x44 && load_le32(h, 0x40) == vdi_header::signature) found.push_back(image_format::vdi);
    if (bytes_equal(h, 0, "vhdxfile")) found.push_back(image_format::vhdx);
    if (bytes_equal(h, 0, "conectix")) {
        found.push_back(image_format::vhd);
    } else if (file.size() >= 512) {
        // A fixed VHD is raw data and a footer; a checksum must match so that data ending in the
        // word "conectix" by chance is not taken for one.
        std::array<std::byte, 512> tail{};
        if (auto r = file.read_at(file.size() - 512, tail, "vhd footer"); !r) return r.error();
        if (bytes_equal(tail, 0, "conectix") && load_be32(tail, 64) == vhd_header::checksum(tail)) found.push_back(image_format::vhd);
    }
    for (std::uint64_t off : {0x8001u, 0x8801u, 0x9001u}) {
        std::array<std::byte, 5> id{};
        auto got = file.read_some(off, id);
        if (!got) return got.error();
        if (*got == id.size() && bytes_equal(id, 0, "CD001")) {
            found.push_back(image_format::iso);
            break;
        }
    }
    return found;
}

result<image_info> inspect_image(const std::filesystem::path& path, image_format expected, const inspect_limits& limits) {
    if (!is_inspectable(expected)) {
        return make_error(errc::bad_request, "cannot inspect a " + name_of(expected) + " file: not a disk image format");
    }
    auto file = image_reader::open(path);
    if (!file) return file.error();
    auto found = matching_formats(*file);
    if (!found) return found.error();
    if (found->size() > 1) return make_error(errc::ambiguous_format, "image matches both " + both(*found));
    const image_format is = found->empty() ? image_format::raw : found->front();
    if (is == image_format::qed) return make_error(errc::unsafe_image, "QED image format is not allowed");
    if (is == image_format::qcow1) return make_error(errc::bad_image, "qcow version 1 image is not supported");
    const bool raw_like = expected == image_format::raw && (is == image_format::raw || is == image_format::iso);
    if (!raw_like && is != expected) {
        if (is == image_format::raw) {
            return make_error(errc::format_mismatch, "declared " + name_of(expected) + " but the file has no " + name_of(expected) + " signature");
        }
        return make_error(errc::format_mismatch, "declared " + name_of(expected) + " but the file is a " + name_of(is) + " image");
    }
    auto size = format_virtual_size(*file, is);
    if (!size) return size.error();
    if (*size > limits.capacity) return too_large_error(*size, limits.capacity);
    return image_info{expected, *size};
}

}  // namespace cdi
