#include "convert/vmdk_header.hpp"

#include "cdi/ascii.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint64_t gd_at_end = ~0ull;
constexpr std::uint32_t flag_nl_detect = 1u << 0;
constexpr std::uint32_t flag_redundant_gt = 1u << 1;
constexpr std::uint32_t flag_compressed = 1u << 16;
constexpr std::uint32_t marker_eos = 0;
constexpr std::uint32_t marker_footer = 3;

// A descriptor line's blanks either side, and at its end the '\r' of a CRLF line end.
std::string_view trim(std::string_view s) { return ascii::trim_right(ascii::trim_left(s, ascii::ows), " \t\r"); }

std::string_view unquote(std::string_view s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
    return s;
}

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An extent line: ACCESS SECTORS TYPE "FILE" [OFFSET]. Returns false when the line is not one.
struct extent_line {
    std::string_view type;
    std::string_view file;
};
bool parse_extent(std::string_view line, extent_line& out) {
    for (std::string_view access : {"RW ", "RDONLY ", "NOACCESS "}) {
        if (line.substr(0, access.size()) != access) continue;
        std::string_view rest = trim(line.substr(access.size()));
        const auto sp = rest.find(' ');
        if (sp == std::string_view::npos || !is_digits(rest.substr(0, sp))) return false;
        rest = trim(rest.substr(sp));
        const auto sp2 = rest.find(' ');
        if (sp2 == std::string_view::npos) return false;
        out.type = rest.substr(0, sp2);
        rest = trim(rest.substr(sp2));
        if (rest.empty() || rest.front() != '"') return false;
        const auto close = rest.find('"', 1);
        if (close == std::string_view::npos) return false;
        out.file = rest.substr(1, close - 1);
        const std::string_view tail = trim(rest.substr(close + 1));
        return tail.empty() || is_digits(tail);
    }
    return false;
}

bool plain_file_name(std::string_view f) {
    if (f.empty() || f == "." || f == "..") return false;
    return std::none_of(f.begin(), f.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return c == '/' || c == '\\' || c == ':' || u < 0x20 || u == 0x7f;
    });
}

constexpr std::string_view parent_hint = "parentFileNameHint";

error line_error(std::string_view line) {
    return make_error(errc::unsafe_image, "vmdk descriptor line \"" + sanitize_for_message(line) + "\" is not allowed");
}

}  // namespace

// What qemu 7.2's vmdk_open reads besides the header (block/vmdk.c): for every "KDMV"/"COWD" file,
// DESC_SIZE = 20 sectors at byte 0x200, whatever the header's desc_offset and desc_size say, as a C
// string (up to the first NUL); vmdk_parent_open strstr()s it for "parentFileNameHint" anywhere (a
// comment, a ddb value, past desc_size, in a file with no descriptor at all), skips that word and two
// more characters, and takes the text up to the next '"' as the backing file, which qemu-img then
// opens (a host path, or an nbd:/http: address).
result<void> vmdk_header::check_parent_hint(std::span<const std::byte> desc_area) {
    std::string text(reinterpret_cast<const char*>(desc_area.data()), std::min(desc_area.size(), qemu_desc_size));
    text.resize(std::min(text.size(), text.find('\0')));
    const auto at = text.find(parent_hint);
    if (at == std::string::npos) return {};
    const std::string_view from = std::string_view(text).substr(std::min(text.size(), at + parent_hint.size() + 2));
    const std::string_view name = from.substr(0, from.find('"'));
    return make_error(errc::unsafe_image, "vmdk parentFileNameHint at byte " + std::to_string(qemu_desc_at + at) + " (\"" +
                                              sanitize_for_message(name) + "\") names a parent image");
}

result<void> vmdk_header::check_qemu_cids(std::span<const std::byte> desc_area) {
    // vmdk_read_cid: the text is the area up to its first NUL (its last byte forced to NUL); the number
    // is read by sscanf("%x") from sizeof(name) bytes past the first match: blanks, a sign, a hex digit.
    std::string text(reinterpret_cast<const char*>(desc_area.data()), std::min(desc_area.size(), qemu_desc_size - 1));
    text.resize(std::min(text.size(), text.find('\0')));
    for (std::string_view name : {std::string_view("CID"), std::string_view("parentCID")}) {
        const auto at = text.find(name);
        std::size_t p = at == std::string::npos ? text.size() : at + name.size() + 1;
        while (p < text.size() && std::string_view(" \t\n\v\f\r").find(text[p]) != std::string_view::npos) ++p;
        if (p < text.size() && (text[p] == '+' || text[p] == '-')) ++p;
        if (p >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[p]))) {
            return make_error(errc::corrupt_image, "vmdk descriptor has no " + std::string(name) + " value where qemu reads it (qemu refuses to open it)");
        }
    }
    return {};
}

namespace {
result<void> check_qemu_parent_hint(const image_reader& file) {
    std::vector<std::byte> area(vmdk_header::qemu_desc_size);  // past the end of the file reads as zeros, as qemu's does
    auto n = file.read_some(vmdk_header::qemu_desc_at, area);
    if (!n) return n.error();
    return vmdk_header::check_parent_hint(area);
}
}  // namespace

result<vmdk_header> vmdk_header::parse_sector(std::span<const std::byte> sector, std::string_view where) {
    if (sector.size() < 512 || !bytes_equal(sector, 0, "KDMV")) {
        return make_error(errc::bad_image, "vmdk " + std::string(where) + "is not a sparse extent header (no KDMV magic)");
    }
    // qemu's vmdk_open_vmdk4: capacity 0 with a descriptor offset is read as a descriptor file.
    if (load_le64(sector, 12) == 0 && load_le64(sector, 28) != 0) {
        return make_error(errc::unsafe_image, "vmdk sparse header with zero capacity and a descriptor at sector " +
                                                  std::to_string(load_le64(sector, 28)) +
                                                  " is read by qemu as a descriptor file naming other files");
    }
    vmdk_header h;
    if (auto r = h.parse(sector, where); !r) return r.error();
    return h;
}

result<std::string> vmdk_header::check_descriptor(std::string_view text) {
    std::string create_type;
    int extents = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        extent_line ext;
        if (parse_extent(line, ext)) {
            ++extents;
            if (ext.type != "SPARSE") {
                return make_error(errc::unsafe_image, "vmdk extent type " + sanitize_for_message(ext.type) + " is not allowed");
            }
            if (!plain_file_name(ext.file)) {
                return make_error(errc::unsafe_image, "vmdk extent \"" + sanitize_for_message(ext.file) + "\" names a file");
            }
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) return line_error(line);
        const std::string_view key = trim(line.substr(0, eq));
        const std::string_view value = unquote(trim(line.substr(eq + 1)));
        if (key.substr(0, 4) == "ddb.") continue;
        if (key == "version" || key == "CID" || key == "encoding") continue;
        if (key == "isNativeSnapshot" && value == "no") continue;  // written by VMware tools
        if (key == "parentCID") {
            if (value != "ffffffff") {
                return make_error(errc::unsafe_image, "vmdk parentCID " + sanitize_for_message(value) + " names a parent image");
            }
            continue;
        }
        if (key == "parentFileNameHint") {
            return make_error(errc::unsafe_image, "vmdk parentFileNameHint \"" + sanitize_for_message(value) + "\" is not allowed");
        }
        if (key == "createType") {
            if (value != "monolithicSparse" && value != "streamOptimized") {
                return make_error(errc::unsafe_image, "vmdk createType \"" + sanitize_for_message(value) + "\" is not allowed");
            }
            create_type = value;
            continue;
        }
        return line_error(line);
    }
    if (create_type.empty()) return make_error(errc::unsafe_image, "vmdk descriptor has no createType");
    if (extents != 1) {
        return make_error(errc::unsafe_image, "vmdk descriptor has " + std::to_string(extents) + " extents (exactly one is allowed)");
    }
    return create_type;
}

bool vmdk_header::qemu_reads_backup_directory(std::uint64_t rgd_sectors, std::uint64_t gd_bytes) noexcept {
    // qemu's vmdk_open_vmdk4 takes `rgd_offset << 9` as a 64-bit byte offset (wrapping), skips the
    // backup directory when that is 0, and otherwise preads it at open, which the block layer refuses
    // for a negative offset or one past BDRV_MAX_LENGTH (INT64_MAX rounded down to 1 GiB). Past the end
    // of the file is no error there (the read returns zeros), so neither is it here.
    constexpr std::uint64_t bdrv_max_length = static_cast<std::uint64_t>(INT64_MAX) & ~((std::uint64_t{1} << 30) - 1);
    const std::uint64_t at = rgd_sectors << 9;
    return at == 0 || (at <= bdrv_max_length && gd_bytes <= bdrv_max_length - at);
}

result<void> vmdk_header::parse(std::span<const std::byte> hdr, std::string_view where) {
    // hdr starts at the magic: version@4 flags@8 capacity@12 granularity@20 desc_offset@28
    // desc_size@36 num_gtes_per_gt@44 rgd_offset@48 gd_offset@56 overhead@64 unclean@72
    // check bytes@73 ("\n \r\n") compress_algorithm@77.
    const std::string w(where);
    version_ = load_le32(hdr, 4);
    if (version_ < 1 || version_ > 3) return make_error(errc::bad_image, "vmdk " + w + "version " + std::to_string(version_) + " is not supported");
    flags_ = load_le32(hdr, 8);
    capacity_ = load_le64(hdr, 12);
    granularity_ = load_le64(hdr, 20);
    desc_offset_ = load_le64(hdr, 28);
    desc_size_ = load_le64(hdr, 36);
    gtes_per_gt_ = load_le32(hdr, 44);
    rgd_offset_ = load_le64(hdr, 48);
    gd_offset_ = load_le64(hdr, 56);
    grain_offset_ = load_le64(hdr, 64);
    compressed_ = (flags_ & flag_compressed) != 0;
    compress_algorithm_ = load_le16(hdr, 77);
    if ((flags_ & flag_nl_detect) && !bytes_equal(hdr, 73, "\n \r\n")) {
        return make_error(errc::corrupt_image, "vmdk " + w + "header newline check bytes are corrupted (transferred in text mode?)");
    }
    if (capacity_ > (1ull << 54)) return make_error(errc::corrupt_image, "vmdk " + w + "capacity of " + std::to_string(capacity_) + " sectors is too large");
    if (granularity_ == 0 || granularity_ > 0x200000) {  // qemu: "Invalid granularity"
        return make_error(errc::corrupt_image, "vmdk " + w + "grain size of " + std::to_string(granularity_) + " sectors is invalid");
    }
    if (gtes_per_gt_ == 0 || gtes_per_gt_ > 512) {  // qemu: "L2 table size too big"
        return make_error(errc::corrupt_image, "vmdk " + w + "grain table of " + std::to_string(gtes_per_gt_) + " entries is invalid");
    }
    const std::uint64_t per_gd = granularity_ * gtes_per_gt_;
    gd_entries_ = capacity_ / per_gd + (capacity_ % per_gd != 0 ? 1 : 0);
    if (gd_entries_ * 4 > max_gd_bytes) {
        return make_error(errc::corrupt_image, "vmdk " + w + "grain directory of " + std::to_string(gd_entries_) + " entries is too large");
    }
    if ((flags_ & flag_redundant_gt) && !qemu_reads_backup_directory(rgd_offset_, gd_entries_ * 4)) {
        return make_error(errc::corrupt_image, "vmdk " + w + "redundant grain directory at sector " + std::to_string(rgd_offset_) +
                                                   " is past any offset qemu can read");
    }
    return {};
}

result<vmdk_header> vmdk_header::read(const image_reader& file) {
    std::array<std::byte, 512> sector{};
    auto got = file.read_some(0, sector);
    if (!got) return got.error();
    if (bytes_equal(sector, 0, "COWD")) return make_error(errc::bad_image, "vmdk COWD (ESX version 3) sparse format is not supported");
    if (!bytes_equal(sector, 0, "KDMV")) {
        // A text descriptor: every extent in it is another file.
        std::string text(std::min<std::uint64_t>(file.size(), max_descriptor_bytes), '\0');
        auto n = file.read_some(0, std::as_writable_bytes(std::span(text)));
        if (!n) return n.error();
        text.resize(std::min(*n, text.find('\0')));
        std::string_view rest = text;
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            extent_line ext;
            if (parse_extent(trim(rest.substr(0, nl)), ext)) {
                return make_error(errc::unsafe_image, "vmdk extent \"" + sanitize_for_message(ext.file) + "\" names a file");
            }
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        }
        return make_error(errc::unsafe_image, "vmdk descriptor file without an embedded sparse extent is not allowed");
    }
    if (*got < 512) return make_error(errc::corrupt_image, "vmdk header is truncated: file is " + std::to_string(file.size()) + " bytes");
    // qemu's vmdk_open_vmdk4, before anything else: capacity 0 with a descriptor offset means "read up
    // to 1 MiB at desc_offset as a descriptor FILE" (no desc_size bound), whose createType is found
    // by strstr and whose extent lines (sscanf on every line) qemu opens as other files: parse_sector
    // refuses it.
    auto first = parse_sector(sector, "");
    if (!first) return first.error();
    vmdk_header h = std::move(*first);
    if (h.gd_offset_ == gd_at_end) {
        // streamOptimized written in one pass: the real header is in the footer, 1536 bytes from
        // the end (footer marker, "KDMV" + header, end-of-stream marker), as qemu reads it.
        std::array<std::byte, 1536> tail{};
        if (auto r = file.read_at(file.size() < 1536 ? 0 : file.size() - 1536, tail, "vmdk footer"); !r) return r.error();
        auto marker = std::span(tail).first(512);
        auto footer = std::span(tail).subspan(512, 512);
        auto eos = std::span(tail).subspan(1024, 512);
        if (load_le64(marker, 0) != 0 || load_le32(marker, 12) != marker_footer || !bytes_equal(footer, 0, "KDMV") ||
            load_le64(eos, 0) != 0 || load_le32(eos, 12) != marker_eos) {
            return make_error(errc::corrupt_image, "vmdk footer is missing (grain directory offset says it is at the end)");
        }
        if (auto r = h.parse(footer, "footer "); !r) return r.error();
        if (h.gd_offset_ == gd_at_end) return make_error(errc::corrupt_image, "vmdk footer has no grain directory offset");
    }
    if (h.desc_offset_ != 0) {
        const std::uint64_t bytes = h.desc_size_ * 512;
        if (h.desc_size_ > max_descriptor_bytes / 512) {
            return make_error(errc::corrupt_image, "vmdk descriptor of " + std::to_string(h.desc_size_) + " sectors is too large");
        }
        if (h.desc_offset_ > file.size() / 512) {
            return make_error(errc::corrupt_image, "vmdk descriptor offset " + std::to_string(h.desc_offset_) + " is past the end of the file");
        }
        std::string text(static_cast<std::size_t>(bytes), '\0');
        if (auto r = file.read_at(h.desc_offset_ * 512, std::as_writable_bytes(std::span(text)), "vmdk descriptor"); !r) return r.error();
        text.resize(std::min(text.size(), text.find('\0')));
        auto ct = check_descriptor(text);
        if (!ct) return ct.error();
        h.create_type_ = std::move(*ct);
    } else {
        h.create_type_ = h.compressed_ ? "streamOptimized" : "monolithicSparse";
    }
    if (auto r = check_qemu_parent_hint(file); !r) return r.error();
    if (h.create_type_ == "streamOptimized" && !h.compressed_) {
        return make_error(errc::corrupt_image, "vmdk streamOptimized image without the compressed-grains flag");
    }
    if (h.grain_offset_ > file.size() / 512) {  // qemu: "File truncated, expecting at least N bytes"
        return make_error(errc::corrupt_image, "vmdk image is truncated: grains start at sector " + std::to_string(h.grain_offset_) +
                                                   ", file is " + std::to_string(file.size()) + " bytes");
    }
    if (auto r = h.check_grains(file); !r) return r.error();
    return h;
}

result<void> vmdk_header::check_grains(const image_reader& file) const {
    // The grain directory and tables must lie inside the file, and every grain they name: a cut
    // sparse VMDK would otherwise convert with zeros where data was. Tables read in bounded pieces;
    // more table bytes than the file holds means aliasing tables and is refused.
    const std::uint64_t gd_bytes = gd_entries_ * 4;
    for (std::uint64_t gd : {gd_offset_, (flags_ & flag_redundant_gt) ? rgd_offset_ : std::uint64_t{0}}) {
        if (gd == 0) continue;
        if (gd > file.size() / 512 || !file.contains(gd * 512, gd_bytes)) {
            return make_error(errc::corrupt_image, "vmdk image is truncated: grain directory ends at " +
                                                       std::to_string(gd * 512 + gd_bytes) + ", file is " + std::to_string(file.size()) + " bytes");
        }
    }
    const std::uint64_t gt_bytes = static_cast<std::uint64_t>(gtes_per_gt_) * 4;
    const std::uint64_t grain_bytes = granularity_ * 512;
    std::vector<std::byte> gdbuf(static_cast<std::size_t>(std::min<std::uint64_t>(gd_bytes, 64u << 10)));
    std::vector<std::byte> gt(static_cast<std::size_t>(gt_bytes));
    std::uint64_t gt_read = 0;
    for (std::uint64_t done = 0; done < gd_bytes; done += gdbuf.size()) {
        auto chunk = std::span(gdbuf).first(static_cast<std::size_t>(std::min<std::uint64_t>(gdbuf.size(), gd_bytes - done)));
        if (auto r = file.read_at(gd_offset_ * 512 + done, chunk, "vmdk grain directory"); !r) return r.error();
        for (std::size_t i = 0; i + 4 <= chunk.size(); i += 4) {
            const std::uint64_t gt_sector = load_le32(chunk, i);
            if (gt_sector == 0) continue;
            gt_read += gt_bytes;
            if (!file.contains(gt_sector * 512, gt_bytes) || gt_read > file.size()) {
                return make_error(errc::corrupt_image, "vmdk image is truncated: grain table at " + std::to_string(gt_sector * 512) +
                                                           " ends past the end of the file (" + std::to_string(file.size()) + " bytes)");
            }
            if (auto r = file.read_at(gt_sector * 512, gt, "vmdk grain table"); !r) return r.error();
            for (std::size_t j = 0; j + 4 <= gt.size(); j += 4) {
                const std::uint64_t grain = load_le32(gt, j);
                if (grain <= 1) continue;  // 0 unallocated, 1 zeroed grain
                // A compressed grain starts with its marker and has its own length: check the start.
                const std::uint64_t need = compressed_ ? 1 : grain_bytes;
                if (!file.contains(grain * 512, need)) {
                    return make_error(errc::corrupt_image, "vmdk image is truncated: grain at " + std::to_string(grain * 512) +
                                                               " ends past the end of the file (" + std::to_string(file.size()) + " bytes)");
                }
            }
        }
    }
    return {};
}

}  // namespace cdi
