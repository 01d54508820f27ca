#pragma once
// Formats the data path recognises, and the names qemu-img knows them by (for -f).
#include <string_view>

namespace cdi {

enum class image_format {
    raw,    // anything unrecognised is raw, as in CDI
    iso,    // ISO 9660: imported as raw
    gzip,
    xz,
    zstd,
    qcow2,
    vmdk,
    vdi,
    vhd,    // qemu's "vpc": dynamic (header at 0) or fixed (footer at the end)
    vhdx,
    tar,
    qed,    // recognised only to be refused
    qcow1,  // recognised only to be refused
};

constexpr std::string_view to_string(image_format f) noexcept {
    switch (f) {
    case image_format::raw: return "raw";
    case image_format::iso: return "iso";
    case image_format::gzip: return "gzip";
    case image_format::xz: return "xz";
    case image_format::zstd: return "zstd";
    case image_format::qcow2: return "qcow2";
    case image_format::vmdk: return "vmdk";
    case image_format::vdi: return "vdi";
    case image_format::vhd: return "vhd";
    case image_format::vhdx: return "vhdx";
    case image_format::tar: return "tar";
    case image_format::qed: return "qed";
    case image_format::qcow1: return "qcow";
    }
    return "unknown";
}

// The -f argument qemu-img needs for a format; empty for formats qemu-img must never see.
constexpr std::string_view qemu_format_name(image_format f) noexcept {
    switch (f) {
    case image_format::raw:
    case image_format::iso: return "raw";
    case image_format::qcow2: return "qcow2";
    case image_format::vmdk: return "vmdk";
    case image_format::vdi: return "vdi";
    case image_format::vhd: return "vpc";
    case image_format::vhdx: return "vhdx";
    default: return "";
    }
}

constexpr bool is_compression(image_format f) noexcept {
    return f == image_format::gzip || f == image_format::xz || f == image_format::zstd;
}

// Formats qemu-img converts to raw through scratch space.
constexpr bool needs_conversion(image_format f) noexcept {
    return f == image_format::qcow2 || f == image_format::vmdk || f == image_format::vdi ||
           f == image_format::vhd || f == image_format::vhdx;
}

}  // namespace cdi
