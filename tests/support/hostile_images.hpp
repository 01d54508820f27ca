#pragma once
// Builders for clean and hostile disk images, made with the real qemu-img / qemu-io at test time and
// then poked at byte level (security.md §5.4 C1-C10, §7 recipes). Each builder writes one file into
// `dir` and returns its path; they throw (fixture failure) when a tool step fails, so callers should
// CDI_REQUIRE_TOOL("qemu-img") first. Shared by the inspector tests and the import-job tests.
#include "support/test_env.hpp"

#include <cstdint>
#include <fstream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace cdi::test::hostile {

using cdi::test::q;  // h::q(p) in the image tests: the one shell quote (support/test_env.hpp)

// Overwrites bytes at offset in place (the file keeps its size unless the write extends it).
inline void poke(const fs::path& file, std::uint64_t offset, std::string_view bytes) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    if (!f) throw std::runtime_error("poke: cannot open " + file.string());
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("poke: write failed on " + file.string());
}
inline std::string be(std::uint64_t v, int width) {
    std::string s(static_cast<std::size_t>(width), '\0');
    for (int i = 0; i < width; ++i) s[static_cast<std::size_t>(width - 1 - i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}
inline std::string le(std::uint64_t v, int width) {
    std::string s(static_cast<std::size_t>(width), '\0');
    for (int i = 0; i < width; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}
inline void poke_be32(const fs::path& f, std::uint64_t off, std::uint32_t v) { poke(f, off, be(v, 4)); }
inline void poke_be64(const fs::path& f, std::uint64_t off, std::uint64_t v) { poke(f, off, be(v, 8)); }
inline void poke_le32(const fs::path& f, std::uint64_t off, std::uint32_t v) { poke(f, off, le(v, 4)); }

inline std::string peek(const fs::path& file, std::uint64_t offset, std::size_t n) {
    std::ifstream f(file, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    std::string s(n, '\0');
    f.read(s.data(), static_cast<std::streamsize>(n));
    s.resize(static_cast<std::size_t>(f.gcount()));
    return s;
}

inline std::uint64_t peek_le(const fs::path& file, std::uint64_t offset, int width) {
    const std::string b = peek(file, offset, static_cast<std::size_t>(width));
    std::uint64_t v = 0;
    for (std::size_t i = b.size(); i-- > 0;) v = (v << 8) | std::uint8_t(b[i]);
    return v;
}
inline std::uint64_t peek_be(const fs::path& file, std::uint64_t offset, int width) {
    std::uint64_t v = 0;
    for (char c : peek(file, offset, static_cast<std::size_t>(width))) v = (v << 8) | std::uint8_t(c);
    return v;
}

// `qemu-img info -f fmt --output=json`'s virtual-size.
inline std::uint64_t qemu_virtual_size(const fs::path& file, std::string_view qemu_fmt) {
    const auto out = must_run("qemu-img info -f " + std::string(qemu_fmt) + " --output=json " + q(file));
    std::smatch m;
    if (!std::regex_search(out, m, std::regex("\"virtual-size\": *([0-9]+)"))) throw std::runtime_error("no virtual-size in: " + out);
    return std::stoull(m[1]);
}

// `size` bytes of pseudo-random data (from a fixed seed, so runs are repeatable).
inline fs::path random_raw(const fs::path& dir, const std::string& name, std::uint64_t size) {
    const auto p = dir / name;
    must_run("head -c " + std::to_string(size) + " /dev/urandom > " + q(p));
    return p;
}

// qemu-img create -f fmt [-o opts] name size.
inline fs::path create(const fs::path& dir, const std::string& name, std::string_view fmt, const std::string& size,
                       const std::string& opts = "") {
    const auto p = dir / name;
    must_run("qemu-img create -q -f " + std::string(fmt) + (opts.empty() ? "" : " -o " + opts) + " " + q(p) + " " + size);
    return p;
}

// qemu-img convert of 2 MiB of random data into fmt, so the image has allocated data clusters.
inline fs::path with_data(const fs::path& dir, const std::string& name, std::string_view fmt, const std::string& opts = "",
                          const std::string& extra = "") {
    const auto src = random_raw(dir, name + ".src", 2u << 20);
    const auto p = dir / name;
    must_run("qemu-img convert -f raw -O " + std::string(fmt) + (opts.empty() ? "" : " -o " + opts) + " " + extra + " " +
             q(src) + " " + q(p));
    fs::remove(src);
    return p;
}

// C1: a qcow2 whose backing file is `backing` (not checked for existence: -u).
inline fs::path qcow2_backing(const fs::path& dir, const std::string& backing, std::string_view backing_fmt = "raw") {
    const auto p = dir / "backing.qcow2";
    must_run("qemu-img create -q -f qcow2 -u -b " + q(backing) + " -F " + std::string(backing_fmt) + " " + q(p) + " 1M");
    return p;
}

// C3: a qcow2 whose backing file is json:{"driver":"raw","file":{"driver":"file","filename":target}}.
inline fs::path qcow2_json_backing(const fs::path& dir, const std::string& target = "/etc/passwd") {
    return qcow2_backing(dir, "json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"" + target + "\"}}");
}

// C2: a qcow2 whose external data file is `target` (the §7 recipe: placeholder, then amend).
inline fs::path qcow2_data_file(const fs::path& dir, const std::string& target = "/etc/passwd") {
    const auto placeholder = dir / "placeholder.raw";
    const auto p = dir / "datafile.qcow2";
    must_run("qemu-img create -q -f qcow2 -o data_file=" + placeholder.string() + ",data_file_raw=on " + q(p) + " 1M");
    must_run("qemu-img amend -f qcow2 -o data_file=" + target + " " + q(p));
    fs::remove(placeholder);
    return p;
}

// qcow2 v3 header offsets used by the pokes below.
inline constexpr std::uint64_t qcow2_version_at = 4, qcow2_size_at = 24, qcow2_l1_size_at = 36,
                               qcow2_reftable_clusters_at = 56, qcow2_incompat_at = 72, qcow2_header_length_at = 100;

// A clean 64 MiB v3 qcow2 (compat=1.1), to be poked.
inline fs::path qcow2_v3(const fs::path& dir, const std::string& name = "v3.qcow2") {
    return create(dir, name, "qcow2", "64M", "compat=1.1");
}

// C7: incompatible-feature bits set (OR'ed in), version poked (1, 4), QED.
inline fs::path qcow2_incompat(const fs::path& dir, std::uint64_t bits) {
    const auto p = qcow2_v3(dir, "incompat.qcow2");
    poke_be64(p, qcow2_incompat_at, bits);
    return p;
}
inline fs::path qcow2_version(const fs::path& dir, std::uint32_t version) {
    const auto p = qcow2_v3(dir, "version.qcow2");
    poke_be32(p, qcow2_version_at, version);
    return p;
}
inline fs::path qed(const fs::path& dir) { return create(dir, "image.qed", "qed", "16M"); }

// An encrypted qcow2: crypt_method (offset 32) poked to 1 (AES) or 2 (LUKS). A real LUKS image takes
// seconds of PBKDF benchmarking to create; the inspector reads only the field.
inline fs::path qcow2_crypt_method(const fs::path& dir, std::uint32_t method) {
    const auto p = qcow2_v3(dir, "encrypted.qcow2");
    poke_be32(p, 32, method);
    return p;
}

// C8: L1 size (iotests 080), refcount table clusters, a header extension of `len` bytes.
inline fs::path qcow2_l1_size(const fs::path& dir, std::uint32_t l1_size) {
    const auto p = qcow2_v3(dir, "l1.qcow2");
    poke_be32(p, qcow2_l1_size_at, l1_size);
    return p;
}
inline fs::path qcow2_reftable_clusters(const fs::path& dir, std::uint32_t clusters) {
    const auto p = qcow2_v3(dir, "reftable.qcow2");
    poke_be32(p, qcow2_reftable_clusters_at, clusters);
    return p;
}
inline fs::path qcow2_huge_extension(const fs::path& dir, std::uint32_t len = 0x7fffffff) {
    const auto p = qcow2_v3(dir, "ext.qcow2");
    const std::uint64_t header_length = peek_be(p, qcow2_header_length_at, 4);
    poke(p, header_length, be(0x12345678, 4) + be(len, 4));
    return p;
}

// C9: a huge virtual size in a small file (qemu-img create 1P), or the size field poked.
inline fs::path qcow2_virtual(const fs::path& dir, const std::string& size) { return create(dir, "huge.qcow2", "qcow2", size); }

// C10: a 64 MiB qcow2 with 8 MiB written, cut to half its length.
inline fs::path qcow2_truncated(const fs::path& dir) {
    const auto p = qcow2_v3(dir, "trunc.qcow2");
    must_run("qemu-io -f qcow2 -c 'write -P 0x55 0 8M' " + q(p) + " >/dev/null");
    fs::resize_file(p, fs::file_size(p) / 2);
    return p;
}

// C5: an ISO 9660 primary volume descriptor id ("\x01CD001\x01" at 0x8000) inside a qcow2.
inline fs::path iso_qcow2_polyglot(const fs::path& dir) {
    const auto p = qcow2_v3(dir, "polyglot.qcow2");
    poke(p, 0x8000, std::string("\x01" "CD001" "\x01", 7));
    return p;
}

// C4: a descriptor-only VMDK naming `extent` as a FLAT extent (monolithicFlat style).
inline fs::path vmdk_descriptor_only(const fs::path& dir, const std::string& extent = "/etc/shadow",
                                     const std::string& create_type = "monolithicFlat") {
    const auto p = dir / "descriptor.vmdk";
    const std::string text = "# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"" + create_type +
                             "\"\n\n# Extent description\nRW 2048 FLAT \"" + extent +
                             "\" 0\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.adapterType = \"ide\"\n";
    write_file(p, text.data(), text.size());
    return p;
}

// C4: a monolithicSparse VMDK whose embedded descriptor had `from` replaced by `to` (e.g. add an
// unknown line after createType). The descriptor region keeps its size; the text must still fit.
inline fs::path vmdk_patched_descriptor(const fs::path& dir, const std::string& from, const std::string& to) {
    const auto p = create(dir, "patched.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    const std::uint64_t desc_at = 512 * peek_le(p, 28, 8);
    const auto desc_len = static_cast<std::size_t>(512 * peek_le(p, 36, 8));
    std::string text = peek(p, desc_at, desc_len);
    text.resize(text.find('\0'));
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error("vmdk descriptor has no \"" + from + "\"");
    text.replace(at, from.size(), to);
    if (text.size() >= desc_len) throw std::runtime_error("patched vmdk descriptor does not fit");
    text.resize(desc_len, '\0');
    poke(p, desc_at, text);
    return p;
}

// qemu 7.2 reads a sparse VMDK whose header has capacity 0 and a descriptor offset as a descriptor
// FILE: up to 1 MiB from desc_offset (desc_size ignored), createType by strstr, every "RW" extent line
// opened. This one keeps a descriptor the line check accepts in its one declared sector (desc_size
// 1; the first createType is in a comment; the one extent line is RDONLY, which qemu skips) and names
// `extent` as a FLAT extent of 4 MiB in the next sector: qemu-img reads that host file as the disk.
inline fs::path vmdk_zero_capacity_naming(const fs::path& dir, const std::string& extent) {
    const auto p = create(dir, "zero.vmdk", "vmdk", "4M", "subformat=monolithicSparse");
    std::string text = "# Disk DescriptorFile\n#createType=\"monolithicFlat\"\nversion=1\nCID=12345678\nparentCID=ffffffff\n"
                       "createType=\"monolithicSparse\"\nRDONLY 8192 SPARSE \"zero.vmdk\"\n#";
    text.resize(512, 'x');
    text += "\nRW 8192 FLAT \"" + extent + "\" 0\n";
    text.resize(20 * 512, '\0');
    poke(p, 512, text);
    poke(p, 12, le(0, 8));  // capacity
    poke(p, 36, le(1, 8));  // desc_size
    return p;
}

// A streamOptimized VMDK laid out the way VMware streams it: grain directory offset GD_AT_END in the
// header, and a footer (footer marker, a copy of the header with the real offset, end-of-stream
// marker) appended. qemu-img writes the offset in the header, so this is forged from its output.
inline fs::path vmdk_stream_optimized_footer(const fs::path& dir) {
    const auto p = with_data(dir, "footer.vmdk", "vmdk", "subformat=streamOptimized");
    const std::string header = peek(p, 0, 512);
    std::string marker(512, '\0');
    marker.replace(12, 4, le(3, 4));
    poke(p, fs::file_size(p), marker + header + std::string(512, '\0'));
    poke(p, 56, le(~0ull, 8));
    return p;
}

// The VHD footer checksum (one's complement of the byte sum, checksum field as zero).
inline std::uint32_t vhd_footer_checksum(std::string footer) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < footer.size(); ++i) {
        if (i < 64 || i >= 68) sum += std::uint8_t(footer[i]);
    }
    return ~sum;
}

// Replaces bytes at `field` (an offset inside the 512-byte footer) in every VHD footer copy (offset 0
// if dynamic, and the end) and fixes the checksums. Footer fields: creator_app@28 (4 bytes),
// current_size@48 (8, BE), disk_type@60 (4, BE).
inline void vhd_patch_footer(const fs::path& p, std::size_t field, const std::string& bytes) {
    const std::uint64_t size = fs::file_size(p);
    for (std::uint64_t at : {std::uint64_t{0}, size - 512}) {
        std::string footer = peek(p, at, 512);
        if (footer.substr(0, 8) != "conectix") continue;
        footer.replace(field, bytes.size(), bytes);
        footer.replace(64, 4, be(vhd_footer_checksum(footer), 4));
        poke(p, at, footer);
    }
}
// Type 4 makes a differencing disk, which qemu-img cannot create.
inline void vhd_set_disk_type(const fs::path& p, std::uint32_t type) { vhd_patch_footer(p, 60, be(type, 4)); }
inline fs::path vhd_differencing(const fs::path& dir) {
    const auto p = create(dir, "diff.vhd", "vpc", "4M");
    vhd_set_disk_type(p, 4);
    return p;
}

// VHDX: the offset of metadata item `guid` (on-disk byte order) in a qemu-made image, found through
// the region table at 192 KiB and the metadata table; 0 when absent.
inline const std::string vhdx_metadata_region_guid = std::string("\x06\xa2\x7c\x8b\x90\x47\x9a\x4b\xb8\xfe\x57\x5f\x05\x0f\x88\x6e", 16);
inline const std::string vhdx_file_parameters_guid = std::string("\x37\x67\xa1\xca\x36\xfa\x43\x4d\xb3\xb6\x33\xf0\xaa\x44\xe7\x6b", 16);
inline const std::string vhdx_virtual_disk_size_guid = std::string("\x24\x42\xa5\x2f\x1b\xcd\x76\x48\xb2\x11\x5d\xbe\xd8\x3b\xf4\xb8", 16);
inline const std::string vhdx_page83_guid = std::string("\xab\x12\xca\xbe\xe6\xb2\x23\x45\x93\xef\xc3\x09\xe0\x00\xc7\x46", 16);
inline const std::string vhdx_parent_locator_guid = std::string("\x2d\x5f\xd3\xa8\x0b\xb3\x4d\x45\xab\xf7\xd3\xd8\x48\x34\xab\x0c", 16);

struct vhdx_item {
    std::uint64_t entry_at = 0;  // the metadata table entry
    std::uint64_t value_at = 0;  // the item's value
};
inline vhdx_item vhdx_find_metadata(const fs::path& p, const std::string& guid) {
    const std::uint64_t rt = 192u << 10;
    const auto count = peek_le(p, rt + 8, 4);
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t e = rt + 16 + i * 32;
        if (peek(p, e, 16) != vhdx_metadata_region_guid) continue;
        const std::uint64_t md = peek_le(p, e + 16, 8);
        const auto items = peek_le(p, md + 10, 2);
        for (std::uint64_t j = 0; j < items; ++j) {
            const std::uint64_t me = md + 32 + j * 32;
            if (peek(p, me, 16) == guid) return {me, md + peek_le(p, me + 16, 4)};
        }
    }
    throw std::runtime_error("vhdx metadata item not found in " + p.string());
}

// A VHDX whose file parameters say HasParent (bit 1 of the flags after the block size).
inline fs::path vhdx_has_parent(const fs::path& dir) {
    const auto p = create(dir, "parent.vhdx", "vhdx", "4M");
    const auto item = vhdx_find_metadata(p, vhdx_file_parameters_guid);
    poke(p, item.value_at + 4, le(peek_le(p, item.value_at + 4, 4) | 2u, 4));
    return p;
}

// A VHDX with a parent locator metadata item (the page 83 entry's GUID replaced).
inline fs::path vhdx_parent_locator(const fs::path& dir) {
    const auto p = create(dir, "locator.vhdx", "vhdx", "4M");
    poke(p, vhdx_find_metadata(p, vhdx_page83_guid).entry_at, vhdx_parent_locator_guid);
    return p;
}

}  // namespace cdi::test::hostile
