#include "convert/qcow2_header.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace cdi {
namespace {

constexpr std::uint32_t ext_data_file = 0x44415441;          // "DATA": external data file name
constexpr std::uint64_t offset_mask = 0x00fffffffffffe00ull;  // L1E_OFFSET_MASK / L2E_OFFSET_MASK
constexpr std::uint64_t l2_compressed = 1ull << 62;
constexpr std::size_t l1_chunk_entries = 8192;  // 64 KiB of L1 read at a time

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

error truncated(std::string_view what, std::uint64_t end, std::uint64_t file_size) {
    return make_error(errc::corrupt_image, "qcow2 image is truncated: " + std::string(what) + " ends at " +
                                               std::to_string(end) + ", file is " + std::to_string(file_size) +
                                               " bytes");
}

// qemu's qcow2_validate_table, run on every open for the L1, refcount and snapshot tables whatever
// their entry count (an empty snapshot table's offset too): the table cluster-aligned and its end
// within INT64_MAX (qemu passes offsets as int64_t). Each caller checks its own size limit first.
std::optional<error> qemu_table_refusal(std::string_view what, std::uint64_t offset, std::uint64_t entries, std::uint64_t entry_len,
                                        std::uint64_t cluster_size) {
    constexpr std::uint64_t int64_max = 0x7fffffffffffffffull;
    if (offset % cluster_size != 0) {
        return make_error(errc::corrupt_image, "qcow2 " + std::string(what) + " offset " + hex(offset) + " is not cluster-aligned");
    }
    if (entries > int64_max / entry_len || int64_max - entries * entry_len < offset) {
        return make_error(errc::corrupt_image, "qcow2 " + std::string(what) + " at " + hex(offset) + " ends past 2^63");
    }
    return std::nullopt;
}

std::string bit_list(std::uint64_t bits) {
    std::string out;
    for (unsigned i = 0; i < 64; ++i) {
        if (!(bits & (1ull << i))) continue;
        if (!out.empty()) out += ", ";
        out += std::to_string(i);
    }
    return out;
}

}  // namespace

result<qcow2_header> qcow2_header::parse_fields(std::span<const std::byte> head, std::size_t got, std::uint64_t file_size) {
    if (got < 72) return make_error(errc::corrupt_image, "qcow2 header is truncated: file is " + std::to_string(file_size) + " bytes");

    qcow2_header h;
    h.version_ = load_be32(head, 4);
    if (h.version_ == 1) return make_error(errc::bad_image, "qcow version 1 image is not supported");
    if (h.version_ != 2 && h.version_ != 3) {
        return make_error(errc::bad_image, "qcow2 version " + std::to_string(h.version_) + " is not supported");
    }
    h.backing_offset_ = load_be64(head, 8);
    h.backing_size_ = load_be32(head, 16);
    h.cluster_bits_ = load_be32(head, 20);
    h.size_ = load_be64(head, 24);
    h.crypt_method_ = load_be32(head, 32);
    h.l1_size_ = load_be32(head, 36);
    h.l1_offset_ = load_be64(head, 40);
    h.reftable_offset_ = load_be64(head, 48);
    h.reftable_clusters_ = load_be32(head, 56);
    h.nb_snapshots_ = load_be32(head, 60);
    h.snapshots_offset_ = load_be64(head, 64);
    if (h.version_ == 3) {
        if (got < 104) return make_error(errc::corrupt_image, "qcow2 v3 header is truncated: file is " + std::to_string(file_size) + " bytes");
        h.incompat_ = load_be64(head, 72);
        h.refcount_order_ = load_be32(head, 96);
        h.header_length_ = load_be32(head, 100);
        if (h.header_length_ < 104) return make_error(errc::corrupt_image, "qcow2 header length " + std::to_string(h.header_length_) + " is too short");
        if (h.header_length_ > 104 && got > 104) h.compression_type_ = std::to_integer<std::uint8_t>(head[104]);
    }
    return h;
}

namespace {
error backing_refused(std::string_view name, std::uint64_t offset, std::uint32_t size) {
    if (name.empty()) {
        return make_error(errc::unsafe_image, "qcow2 backing file (offset " + std::to_string(offset) + ", " + std::to_string(size) +
                                                  " bytes) is not allowed");
    }
    return make_error(errc::unsafe_image, "qcow2 backing file \"" + sanitize_for_message(name) + "\" is not allowed");
}
}  // namespace

result<void> qcow2_header::check_cluster_bits() {
    if (cluster_bits_ < 9 || cluster_bits_ > 21) {
        return make_error(errc::corrupt_image, "qcow2 cluster_bits " + std::to_string(cluster_bits_) + " is outside 9..21");
    }
    cluster_size_ = 1ull << cluster_bits_;
    if (header_length_ > cluster_size_) {
        return make_error(errc::corrupt_image, "qcow2 header length " + std::to_string(header_length_) + " exceeds the cluster size");
    }
    return {};
}

result<qcow2_header> qcow2_header::read(const image_reader& file) {
    // The header proper is at most 112 bytes; extensions live in the rest of cluster 0, read below.
    std::array<std::byte, 112> head{};
    auto got = file.read_some(0, head);
    if (!got) return got.error();
    auto parsed = parse_fields(head, *got, file.size());
    if (!parsed) return parsed.error();
    qcow2_header& h = *parsed;

    // Anything that makes qemu-img open another file comes first: it is the attack that matters.
    if (h.backing_offset_ != 0 || h.backing_size_ != 0) {
        std::string name;
        const std::uint64_t len = std::min<std::uint64_t>(h.backing_size_, 1023);
        if (h.backing_offset_ != 0 && h.backing_offset_ < file.size() && len > 0) {
            name.resize(static_cast<std::size_t>(std::min<std::uint64_t>(len, file.size() - h.backing_offset_)));
            auto n = file.read_some(h.backing_offset_, std::as_writable_bytes(std::span(name)));
            if (!n) return n.error();
            name.resize(*n);
        }
        return backing_refused(name, h.backing_offset_, h.backing_size_);
    }
    if (auto r = h.check_cluster_bits(); !r) return r.error();

    // Cluster 0 (up to 2 MiB) holds the header extensions; bytes past the end of the file read as
    // zeros, as in qemu.
    std::vector<std::byte> cluster0(static_cast<std::size_t>(h.cluster_size_));
    if (auto n = file.read_some(0, cluster0); !n) return n.error();
    if (auto r = h.check_extensions(cluster0); !r) return r.error();
    if (auto r = h.check_features(); !r) return r.error();
    if (h.crypt_method_ != 0) {
        return make_error(errc::bad_image, "qcow2 image is encrypted (crypt_method " + std::to_string(h.crypt_method_) + ")");
    }
    if (auto r = h.check_tables(&file); !r) return r.error();
    if (auto r = h.check_l2_tables(file); !r) return r.error();
    return h;
}

result<qcow2_header> qcow2_header::read_stream_head(std::span<const std::byte> cluster0) {
    const std::size_t got = std::min<std::size_t>(cluster0.size(), 112);
    auto parsed = parse_fields(cluster0, got, cluster0.size());
    if (!parsed) return parsed.error();
    qcow2_header& h = *parsed;
    if (h.backing_offset_ != 0 || h.backing_size_ != 0) {
        // The name is shown when it lies in the first cluster (where qemu-img puts it).
        std::string name;
        if (h.backing_offset_ != 0 && h.backing_offset_ < cluster0.size()) {
            const auto len = std::min<std::uint64_t>({h.backing_size_, 1023, cluster0.size() - h.backing_offset_});
            name.assign(reinterpret_cast<const char*>(cluster0.data() + h.backing_offset_), static_cast<std::size_t>(len));
        }
        return backing_refused(name, h.backing_offset_, h.backing_size_);
    }
    if (auto r = h.check_cluster_bits(); !r) return r.error();
    if (cluster0.size() != h.cluster_size_) {
        return make_error(errc::corrupt_image, "qcow2 stream head of " + std::to_string(cluster0.size()) + " bytes for cluster size " +
                                                   std::to_string(h.cluster_size_));
    }
    if (auto r = h.check_extensions(cluster0); !r) return r.error();
    if (auto r = h.check_features(); !r) return r.error();
    if (h.crypt_method_ != 0) {
        return make_error(errc::bad_image, "qcow2 image is encrypted (crypt_method " + std::to_string(h.crypt_method_) + ")");
    }
    if (auto r = h.check_tables(nullptr); !r) return r.error();
    return h;
}

result<void> qcow2_header::check_extensions(std::span<const std::byte> cluster0) const {
    // Same walk as qemu's qcow2_read_extensions: 8-byte aligned records until type 0, all inside
    // cluster 0. Unknown types are skipped (qemu ignores them); a data-file name is always refused.
    const std::uint64_t end = cluster0.size();
    std::uint64_t off = version_ == 3 ? header_length_ : 72;
    while (off < end) {
        if (end - off < 8) {
            return make_error(errc::corrupt_image, "qcow2 header extension at " + std::to_string(off) + " runs past the first cluster");
        }
        const std::uint32_t type = load_be32(cluster0, static_cast<std::size_t>(off));
        const std::uint32_t len = load_be32(cluster0, static_cast<std::size_t>(off + 4));
        // qemu checks the length before the type, so an end marker with a huge length is refused too.
        if (len > end - off - 8) {
            return make_error(errc::corrupt_image, "qcow2 header extension " + hex(type) + " of " + std::to_string(len) +
                                                       " bytes runs past the first cluster");
        }
        if (type == 0) break;
        if (type == ext_data_file) {
            std::string name(reinterpret_cast<const char*>(cluster0.data() + off + 8), len);
            return make_error(errc::unsafe_image, "qcow2 external data file \"" + sanitize_for_message(name) + "\" is not allowed");
        }
        off += 8 + ((static_cast<std::uint64_t>(len) + 7) & ~7ull);
    }
    return {};
}

result<void> qcow2_header::check_features() const {
    if (const std::uint64_t unknown = incompat_ & ~incompat_known; unknown != 0) {
        return make_error(errc::unsafe_image, "qcow2 unknown incompatible feature bits " + bit_list(unknown) + " are set");
    }
    if (incompat_ & incompat_data_file) return make_error(errc::unsafe_image, "qcow2 external data file is not allowed");
    if (incompat_ & incompat_corrupt) return make_error(errc::corrupt_image, "qcow2 image is marked corrupt");
    if (incompat_ & incompat_dirty) {
        return make_error(errc::corrupt_image, "qcow2 image is marked dirty (it was not closed cleanly)");
    }
    if ((incompat_ & incompat_extended_l2) && cluster_bits_ < 14) {
        return make_error(errc::corrupt_image, "qcow2 extended L2 entries with cluster_bits " + std::to_string(cluster_bits_) + " (needs 14 or more)");
    }
    // qemu's validate_compression_type: zlib (0) or zstd (1), and bit 3 set exactly when not zlib.
    if (compression_type_ > 1) {
        return make_error(errc::bad_image, "qcow2 compression type " + std::to_string(compression_type_) + " is not supported");
    }
    if ((compression_type_ != 0) != ((incompat_ & incompat_compression) != 0)) {
        return make_error(errc::corrupt_image, "qcow2 compression type " + std::to_string(compression_type_) +
                                                   " disagrees with the compression-type feature bit");
    }
    if (refcount_order_ > 6) {
        return make_error(errc::corrupt_image, "qcow2 refcount order " + std::to_string(refcount_order_) + " is larger than 6");
    }
    return {};
}

result<void> qcow2_header::check_tables(const image_reader* file) const {
    // Entries one L1 entry covers: an L2 table of cluster_size / entry size entries of one cluster.
    const std::uint32_t l2_bits = cluster_bits_ - ((incompat_ & incompat_extended_l2) ? 4 : 3);
    const std::uint32_t shift = cluster_bits_ + l2_bits;
    const std::uint64_t needed = (size_ >> shift) + ((size_ & ((1ull << shift) - 1)) != 0 ? 1 : 0);
    if (static_cast<std::uint64_t>(l1_size_) * 8 > max_l1_bytes) {
        return make_error(errc::corrupt_image, "qcow2 L1 table of " + std::to_string(l1_size_) + " entries is too large");
    }
    if (needed > l1_size_) {
        return make_error(errc::corrupt_image, "qcow2 L1 table of " + std::to_string(l1_size_) + " entries is too small for virtual size " +
                                                   std::to_string(size_) + " (needs " + std::to_string(needed) + ")");
    }
    if (auto e = qemu_table_refusal("L1 table", l1_offset_, l1_size_, 8, cluster_size_)) return *e;
    if (l1_size_ > 0) {
        const std::uint64_t bytes = static_cast<std::uint64_t>(l1_size_) * 8;
        if (file && !file->contains(l1_offset_, bytes)) return truncated("L1 table", l1_offset_ + bytes, file->size());
    }
    // qemu's qcow2_do_open refuses this on every open but `qemu-img check`'s: convert and info fail.
    if (reftable_clusters_ == 0) return make_error(errc::corrupt_image, "qcow2 image has no refcount table");
    const std::uint64_t ref_bytes = static_cast<std::uint64_t>(reftable_clusters_) << cluster_bits_;
    if (ref_bytes > max_reftable_bytes) {
        return make_error(errc::corrupt_image, "qcow2 refcount table of " + std::to_string(reftable_clusters_) + " clusters is too large");
    }
    if (auto e = qemu_table_refusal("refcount table", reftable_offset_, reftable_clusters_, cluster_size_, cluster_size_)) return *e;
    if (file && !file->contains(reftable_offset_, ref_bytes)) return truncated("refcount table", reftable_offset_ + ref_bytes, file->size());
    if (nb_snapshots_ > max_snapshots) {
        return make_error(errc::corrupt_image, "qcow2 image has " + std::to_string(nb_snapshots_) + " snapshots (more than 65536)");
    }
    // sizeof(QCowSnapshotHeader): 40 bytes. Checked with no snapshots too, as qemu does.
    if (auto e = qemu_table_refusal("snapshot table", snapshots_offset_, nb_snapshots_, 40, cluster_size_)) return *e;
    if (nb_snapshots_ > 0 && file) {
        if (auto r = check_snapshots(*file); !r) return r.error();
    }
    return {};
}

result<void> qcow2_header::check_snapshots(const image_reader& file) const {
    // Each snapshot header: l1_table_offset@0, l1_size@8, id_str_size@12, name_size@14,
    // extra_data_size@36, then extra data, id and name, padded to 8. Checked as qemu's
    // qcow2_read_snapshots does, without loading the table: one 40-byte read per snapshot.
    constexpr std::uint64_t max_extra = 1024;             // QCOW_MAX_SNAPSHOT_EXTRA_DATA
    constexpr std::uint64_t max_table_bytes = 64u << 20;  // QCOW_MAX_SNAPSHOTS_SIZE
    std::uint64_t off = snapshots_offset_, end = off;
    for (std::uint32_t i = 0; i < nb_snapshots_; ++i) {
        std::array<std::byte, 40> sh{};
        if (!file.contains(off, sh.size())) return truncated("snapshot table", off + sh.size(), file.size());
        if (auto r = file.read_at(off, sh, "qcow2 snapshot header"); !r) return r.error();
        const std::uint64_t extra = load_be32(sh, 36);
        if (extra > max_extra) {
            return make_error(errc::corrupt_image, "qcow2 snapshot " + std::to_string(i) + " has " + std::to_string(extra) + " bytes of extra data");
        }
        const std::uint64_t l1_off = load_be64(sh, 0), l1_size = load_be32(sh, 8);
        if (l1_size * 8 > max_l1_bytes || l1_off % cluster_size_ != 0) {
            return make_error(errc::corrupt_image, "qcow2 snapshot " + std::to_string(i) + " L1 table of " + std::to_string(l1_size) +
                                                       " entries at " + hex(l1_off) + " is invalid");
        }
        const std::uint64_t entry = 40 + extra + load_be16(sh, 12) + load_be16(sh, 14);
        end = off + entry;  // the last entry is not padded
        off += (entry + 7) & ~7ull;
        if (off - snapshots_offset_ > max_table_bytes) return make_error(errc::corrupt_image, "qcow2 snapshot table is too large");
    }
    if (end > file.size()) return truncated("snapshot table", end, file.size());
    return {};
}

result<void> qcow2_header::check_l2_tables(const image_reader& file) const {
    // Walks the active L1 and every L2 table it names, in bounded reads, and checks that each table
    // and each data cluster lies inside the file: a cut qcow2 still opens and converts "successfully"
    // in qemu-img, with zeros where the data was. L2 tables occupy distinct clusters of the file, so
    // reading more L2 bytes than the file holds means entries that alias each other: refused, which
    // bounds the walk by the file size.
    const std::size_t l2_entry = (incompat_ & incompat_extended_l2) ? 16 : 8;
    const std::size_t l2_entries = static_cast<std::size_t>(cluster_size_) / l2_entry;
    const std::uint32_t csize_shift = 62 - (cluster_bits_ - 8);
    std::vector<std::byte> l1(std::min<std::size_t>(l1_size_, l1_chunk_entries) * 8);
    std::vector<std::byte> l2(static_cast<std::size_t>(cluster_size_));
    std::uint64_t l2_bytes_read = 0;
    for (std::uint64_t first = 0; first < l1_size_; first += l1_chunk_entries) {
        const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(l1_chunk_entries, l1_size_ - first));
        auto chunk = std::span(l1).first(count * 8);
        if (auto r = file.read_at(l1_offset_ + first * 8, chunk, "qcow2 L1 table"); !r) return r.error();
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t l2_off = load_be64(chunk, i * 8) & offset_mask;
            if (l2_off == 0) continue;
            if (l2_off % cluster_size_ != 0) return make_error(errc::corrupt_image, "qcow2 L2 table offset " + hex(l2_off) + " is not cluster-aligned");
            if (!file.contains(l2_off, cluster_size_)) return truncated("L2 table at " + std::to_string(l2_off), l2_off + cluster_size_, file.size());
            l2_bytes_read += cluster_size_;
            if (l2_bytes_read > file.size()) {
                return make_error(errc::corrupt_image, "qcow2 L1 table names more L2 tables than the file holds");
            }
            if (auto r = file.read_at(l2_off, l2, "qcow2 L2 table"); !r) return r.error();
            for (std::size_t j = 0; j < l2_entries; ++j) {
                const std::uint64_t e = load_be64(l2, j * l2_entry);
                if (e & l2_compressed) {
                    // Compressed: the host offset is in the low bits; its sector count may round past
                    // the end of the file (qemu reads zeros there), so only the start is checked.
                    const std::uint64_t coff = e & ((1ull << csize_shift) - 1);
                    if (coff >= file.size()) return truncated("compressed cluster at " + std::to_string(coff), coff + 1, file.size());
                    continue;
                }
                const std::uint64_t off = e & offset_mask;
                if (off == 0) continue;
                if (off % cluster_size_ != 0) return make_error(errc::corrupt_image, "qcow2 data cluster offset " + hex(off) + " is not cluster-aligned");
                // With extended L2 qemu reads only the allocated subclusters (bits 0-31 of the
                // bitmap), and allocates by subcluster: the file may end after the last one.
                std::uint64_t need = cluster_size_;
                if (incompat_ & incompat_extended_l2) {
                    const auto alloc = static_cast<std::uint32_t>(load_be64(l2, j * l2_entry + 8));
                    need = (32u - static_cast<std::uint32_t>(std::countl_zero(alloc))) * (cluster_size_ / 32);
                }
                if (!file.contains(off, need)) return truncated("data cluster at " + std::to_string(off), off + need, file.size());
            }
        }
    }
    return {};
}

}  // namespace cdi
