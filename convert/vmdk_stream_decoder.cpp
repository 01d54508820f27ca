#include "convert/vmdk_stream_decoder.hpp"

#include "cdi/byte_order.hpp"
#include "convert/image_reader.hpp"
#include "convert/sparse_writer.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace cdi {
namespace {

constexpr std::uint64_t sector_size = 512;
constexpr std::uint64_t gd_at_end = ~0ull;
constexpr std::uint32_t flag_zero_grain = 1u << 2;
constexpr std::uint32_t flag_compressed = 1u << 16;
constexpr std::uint32_t flag_markers = 1u << 17;
constexpr std::uint16_t compress_deflate = 1;
constexpr std::uint32_t marker_eos = 0, marker_gt = 1, marker_gd = 2, marker_footer = 3;
constexpr std::size_t marker_head = 12;           // LBA u64, size u32
constexpr std::uint64_t max_metadata_sectors = 1ull << 32;  // a marker's sector count beyond this is nonsense
constexpr std::uint64_t max_head_bytes = 2u << 20;  // the descriptor must end within the first 2 MiB
constexpr std::uint64_t max_grain_offset = 1ull << 50;  // sectors: past this no stream reaches a grain

std::uint64_t round_up(std::uint64_t v, std::uint64_t to) { return (v + to - 1) / to * to; }
std::string at_byte(std::uint64_t off) { return "byte " + std::to_string(off); }

// Whether the image is one this decoder takes (see the header comment), from its first header and
// the bytes read ahead (the descriptor and qemu's 20 sectors at 0x200; zeros past the stream's end,
// as qemu reads them).
result<void> check_taken(const vmdk_header& h, std::span<const std::byte> head, const vmdk_stream_options& opts) {
    const auto qemu_area = head.subspan(vmdk_header::qemu_desc_at, vmdk_header::qemu_desc_size);
    if (auto r = vmdk_header::check_parent_hint(qemu_area); !r) return r;
    std::string text(reinterpret_cast<const char*>(head.data() + h.desc_offset() * sector_size), h.desc_size() * sector_size);
    text.resize(std::min(text.size(), text.find('\0')));
    auto create_type = vmdk_header::check_descriptor(text);
    if (!create_type) return create_type.error();
    if (*create_type != "streamOptimized") {
        return make_error(errc::bad_image, "vmdk createType \"" + *create_type + "\" is not streamOptimized");
    }
    if (auto r = vmdk_header::check_qemu_cids(qemu_area); !r) return r;
    if ((h.flags() & flag_compressed) == 0 || (h.flags() & flag_markers) == 0) {
        return make_error(errc::bad_image, "vmdk header flags lack compressed grains (bit 16) or markers (bit 17): not streamOptimized");
    }
    if (h.compress_algorithm() != compress_deflate) {
        return make_error(errc::bad_image, "vmdk compressAlgorithm " + std::to_string(h.compress_algorithm()) + " is not supported (only 1, deflate)");
    }
    const std::uint64_t grain_bytes = h.granularity() * sector_size;
    if (grain_bytes > opts.max_grain_bytes) {
        return make_error(errc::scratch_required, "vmdk grain of " + std::to_string(grain_bytes) + " bytes is larger than the stream decoder takes (" +
                                                      std::to_string(opts.max_grain_bytes) + ")");
    }
    return {};
}

}  // namespace

vmdk_stream_decoder::vmdk_stream_decoder(source& src, const vmdk_stream_options& opts, vmdk_header h, std::vector<std::byte> head,
                                         vmdk_grain_check check, qcow2_inflater inflater)
    : src_(&src), opts_(opts), header_(h), check_(std::move(check)), inflater_(std::move(inflater)), head_(std::move(head)) {}

result<vmdk_stream_decoder> vmdk_stream_decoder::start(source& src, const vmdk_stream_options& opts) {
    std::vector<std::byte> head(sector_size);
    auto got = read_full(src, head);
    if (!got) return got.error();
    if (*got < 4 && std::memcmp(head.data(), "KDMV", *got) == 0) {
        return make_error(errc::truncated, "vmdk stream ended at byte " + std::to_string(*got) + ", inside its magic");
    }
    if (*got < 4 || !bytes_equal(head, 0, "KDMV")) {
        return make_error(errc::bad_image, "stream is not a streamOptimized VMDK (no KDMV sparse extent header; a descriptor file or COWD is not one)");
    }
    if (*got < sector_size) return make_error(errc::truncated, "vmdk stream ended at byte " + std::to_string(*got) + ", inside its header");
    auto h = vmdk_header::parse_sector(head, "");
    if (!h) return h.error();

    if (h->grain_offset() == 0 || h->grain_offset() > max_grain_offset) {
        return make_error(errc::corrupt_image, "vmdk grains start at sector " + std::to_string(h->grain_offset()) + ", which no image can");
    }
    // The embedded descriptor, and the 20 sectors at 0x200 qemu searches for a parent, are read now.
    if (h->desc_offset() == 0 || h->desc_size() == 0) return make_error(errc::bad_image, "vmdk has no embedded descriptor: not streamOptimized");
    if (h->desc_size() > vmdk_header::max_descriptor_bytes / sector_size || h->desc_offset() > max_head_bytes / sector_size ||
        h->desc_offset() + h->desc_size() > max_head_bytes / sector_size) {
        return make_error(errc::bad_image, "vmdk descriptor at sector " + std::to_string(h->desc_offset()) + " of " + std::to_string(h->desc_size()) +
                                               " sectors is not within the first " + std::to_string(max_head_bytes) + " bytes");
    }
    const std::uint64_t desc_end = (h->desc_offset() + h->desc_size()) * sector_size;
    if (desc_end > h->grain_offset() * sector_size) {
        return make_error(errc::corrupt_image, "vmdk descriptor ends at byte " + std::to_string(desc_end) + ", among the grains (they start at sector " +
                                                   std::to_string(h->grain_offset()) + ")");
    }
    head.resize(static_cast<std::size_t>(std::max<std::uint64_t>(desc_end, vmdk_header::qemu_desc_at + vmdk_header::qemu_desc_size)));
    auto more = read_full(src, std::span(head).subspan(sector_size));
    if (!more) return more.error();
    const std::size_t have = sector_size + *more;
    if (have < desc_end) return make_error(errc::truncated, "vmdk stream ended at byte " + std::to_string(have) + ", inside its descriptor");
    if (auto r = check_taken(*h, head, opts); !r) return r.error();

    const vmdk_grain_geometry geo{h->capacity(), h->granularity(), h->gtes_per_gt(), h->gd_entries(), (h->flags() & flag_zero_grain) != 0};
    auto check = h->gd_offset() == gd_at_end ? result<vmdk_grain_check>(vmdk_grain_check::tables_after(geo, opts.table_limit))
                                             : vmdk_grain_check::tables_first(geo, opts.table_limit);
    if (!check) return check.error();
    auto inflater = qcow2_inflater::create_zlib_wrapped();
    if (!inflater) return inflater.error();
    head.resize(have);
    vmdk_stream_decoder d(src, opts, *h, std::move(head), std::move(*check), std::move(*inflater));
    const std::uint64_t grain_bytes = h->granularity() * sector_size;
    d.packed_.resize(static_cast<std::size_t>(2 * grain_bytes));  // the most qemu reads at a marker
    d.grain_.resize(static_cast<std::size_t>(grain_bytes));
    return d;
}

result<vmdk_stream_stats> vmdk_stream_decoder::run(positional_output& target) {
    // Grains that continue each other on the guest side go down as one write (or one zero range).
    coalescing_output out(target);
    out_ = &out;
    auto r = run_to_end(out);
    out_ = nullptr;
    return r;
}

result<vmdk_stream_stats> vmdk_stream_decoder::run_to_end(positional_output& out) {
    if (check_.tables_come_first()) {
        if (auto r = read_tables_first(); !r) return r.error();
    }
    if (auto r = skip_to(header_.grain_offset() * sector_size, "the space before the first grain"); !r) return r.error();
    if (auto r = read_markers(); !r) return r.error();
    if (auto r = out.flush(); !r) return r.error();
    stats_.stream_bytes = pos_;
    return stats_;
}

result<void> vmdk_stream_decoder::read_tables_first() {
    // qemu-img's layout: header, descriptor, redundant directory and tables, directory, tables, then
    // the grains at grain_offset. The tables must all lie before the grains, each after the directory.
    const std::uint64_t region_end = header_.grain_offset() * sector_size;
    const std::uint64_t gd_bytes = header_.gd_entries() * 4;
    const std::uint64_t gt_bytes = std::uint64_t{header_.gtes_per_gt()} * 4;
    if (header_.gd_offset() == 0 || header_.gd_offset() > header_.grain_offset() || header_.gd_offset() * sector_size + gd_bytes > region_end) {
        return make_error(errc::corrupt_image, "vmdk grain directory at sector " + std::to_string(header_.gd_offset()) +
                                                   " does not lie between the header and the grains (sector " + std::to_string(header_.grain_offset()) + ")");
    }
    if (auto r = skip_to(header_.gd_offset() * sector_size, "the space before the grain directory"); !r) return r;
    std::vector<std::byte> gd(static_cast<std::size_t>(gd_bytes));
    if (auto r = read_exact(gd, "the grain directory"); !r) return r;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> tables;  // (sector, slot)
    for (std::uint64_t i = 0; i < header_.gd_entries(); ++i) {
        const std::uint64_t t = load_le32(gd, static_cast<std::size_t>(i * 4));
        if (t != 0) tables.emplace_back(t, i);  // 0: no table, the slot reads as zeros
    }
    std::sort(tables.begin(), tables.end());
    std::vector<std::byte> gt(static_cast<std::size_t>(gt_bytes));
    std::uint64_t last = 0;
    for (const auto& [t, slot] : tables) {
        const std::string what = "the grain table at sector " + std::to_string(t);
        if (t != last) {  // two slots naming one table share its bytes
            if (t > header_.grain_offset() || t * sector_size + gt_bytes > region_end) {
                return make_error(errc::corrupt_image, "vmdk " + what + " (slot " + std::to_string(slot) + ") lies among the grains");
            }
            if (t * sector_size < pos_) {
                return make_error(errc::scratch_required, "vmdk " + what + " (slot " + std::to_string(slot) +
                                                              ") lies before the directory or inside another table: a layout not decoded in stream order");
            }
            if (auto r = skip_to(t * sector_size, "the space before " + what); !r) return r;
            if (auto r = read_exact(gt, what); !r) return r;
            last = t;
        }
        check_.load_table(slot, gt);
    }
    return {};
}

result<void> vmdk_stream_decoder::read_markers() {
    std::array<std::byte, sector_size> sec{};
    for (;;) {
        const std::uint64_t at = pos_;
        auto n = read_some_exact(sec);
        if (!n) return n.error();
        if (*n == 0) break;
        if (*n < sec.size()) return truncated("a marker at " + at_byte(at));
        const std::uint64_t val = load_le64(sec, 0);
        const std::uint32_t size = load_le32(sec, 8);
        const std::uint32_t type = load_le32(sec, 12);
        if (footer_seen_ && (size != 0 || type != marker_eos)) {
            return make_error(errc::corrupt_image, "vmdk marker at " + at_byte(at) + " follows the footer, where only the end-of-stream marker may be");
        }
        if (size != 0) {
            if (auto r = handle_grain(at / sector_size, sec); !r) return r;
            continue;
        }
        if (type == marker_eos) {
            if (!check_.tables_come_first() && val != 0) {
                return make_error(errc::corrupt_image, "vmdk end-of-stream marker at " + at_byte(at) + " has a nonzero value");
            }
            return after_end_of_stream();
        }
        if (type > marker_footer) {
            return make_error(errc::corrupt_image, "vmdk marker at " + at_byte(at) + " has unknown type " + std::to_string(type));
        }
        if (type != marker_footer && val > max_metadata_sectors) {
            return make_error(errc::corrupt_image, "vmdk metadata marker at " + at_byte(at) + " claims " + std::to_string(val) + " sectors");
        }
        if (check_.tables_come_first()) {
            // qemu reads the tables the header names; these copies are not read.
            const std::uint64_t skip = type == marker_footer ? 1 : val;
            if (auto r = skip_to(pos_ + skip * sector_size, "the metadata marker at " + at_byte(at)); !r) return r;
            continue;
        }
        result<void> r = type == marker_gt ? handle_table(at / sector_size + 1, val)
                         : type == marker_gd ? handle_directory(at / sector_size + 1, val)
                                             : handle_footer(val);
        if (!r) return r;
    }
    // The stream ended on a marker boundary without an end-of-stream marker.
    if (!check_.tables_come_first()) return truncated("its end-of-stream marker (the directory is in its footer)");
    return check_.finish(pos_ / sector_size);
}

result<void> vmdk_stream_decoder::handle_grain(std::uint64_t sector, std::span<const std::byte> first) {
    const std::uint64_t lba = load_le64(first, 0);
    const std::uint64_t size = load_le32(first, 8);
    const std::uint64_t grain_bytes = grain_.size();
    const std::string where = "vmdk grain marker at " + at_byte(sector * sector_size);
    // qemu reads two grains at the marker and refuses a size past them (and the 12 bytes of marker).
    if (size > 2 * grain_bytes - marker_head) {
        return make_error(errc::corrupt_image, where + " claims " + std::to_string(size) + " compressed bytes, more than qemu reads for a grain of " +
                                                   std::to_string(grain_bytes));
    }
    if (lba % header_.granularity() != 0) {
        return make_error(errc::corrupt_image, where + " has LBA " + std::to_string(lba) + ", not a multiple of the grain (" +
                                                   std::to_string(header_.granularity()) + " sectors)");
    }
    if (lba >= header_.capacity()) {
        return make_error(errc::corrupt_image, where + " has LBA " + std::to_string(lba) + ", past the capacity of " + std::to_string(header_.capacity()) +
                                                   " sectors");
    }
    const auto total = static_cast<std::size_t>(round_up(marker_head + size, sector_size));
    std::memcpy(packed_.data(), first.data(), first.size());
    if (total > first.size()) {
        if (auto r = read_exact(std::span(packed_).subspan(first.size(), total - first.size()), "the grain at " + at_byte(sector * sector_size)); !r) {
            return r;
        }
    }
    if (auto r = check_.grain(sector, lba / header_.granularity()); !r) return r;
    auto made = inflater_.inflate_whole_stream(std::span(packed_).subspan(marker_head, static_cast<std::size_t>(size)), grain_);
    if (!made) return make_error(errc::decompress, where + " (LBA " + std::to_string(lba) + "): " + made.error().context);
    // qemu reads the whole grain, the last one only up to the capacity; more than it reads is ignored.
    const std::uint64_t guest = lba * sector_size;
    const auto need = static_cast<std::size_t>(std::min(grain_bytes, virtual_size() - guest));
    if (*made < need) {
        return make_error(errc::decompress, where + " (LBA " + std::to_string(lba) + ") inflates to " + std::to_string(*made) + " bytes; qemu reads " +
                                                std::to_string(need));
    }
    ++stats_.grains;
    const auto bytes = std::span<const std::byte>(grain_).first(need);
    if (is_zero(bytes)) {
        ++stats_.zero_grains;
        return out_->zero_at(guest, need);
    }
    return out_->write_at(guest, bytes);
}

result<void> vmdk_stream_decoder::handle_table(std::uint64_t sector, std::uint64_t data_sectors) {
    std::vector<std::byte> gt(std::size_t{header_.gtes_per_gt()} * 4);
    const std::string what = "the grain table at " + at_byte(sector * sector_size);
    if (data_sectors * sector_size < gt.size()) {
        return make_error(errc::corrupt_image, "vmdk grain-table marker before " + what + " claims " + std::to_string(data_sectors) + " sectors, less than a table");
    }
    if (auto r = read_exact(gt, what); !r) return r;
    if (auto r = check_.grain_table(sector, gt); !r) return r;
    return skip_to(sector * sector_size + data_sectors * sector_size, what);
}

result<void> vmdk_stream_decoder::handle_directory(std::uint64_t sector, std::uint64_t data_sectors) {
    const std::uint64_t gd_bytes = header_.gd_entries() * 4;
    const std::string what = "the grain directory at " + at_byte(sector * sector_size);
    if (gd_sector_ != 0) return make_error(errc::corrupt_image, "vmdk stream has a second grain directory, at " + at_byte(sector * sector_size));
    if (data_sectors * sector_size < gd_bytes) {
        return make_error(errc::corrupt_image, "vmdk directory marker before " + what + " claims " + std::to_string(data_sectors) + " sectors, less than the directory");
    }
    gd_sector_ = sector;
    // Checked as it passes, a piece at a time: nothing of it is held.
    for (std::uint64_t done = 0; done < gd_bytes;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(gd_bytes - done, packed_.size()));
        auto piece = std::span(packed_).first(n);
        if (auto r = read_exact(piece, what); !r) return r;
        if (auto r = check_.directory(done / 4, piece); !r) return r;
        done += n;
    }
    return skip_to(sector * sector_size + data_sectors * sector_size, what);
}

result<void> vmdk_stream_decoder::handle_footer(std::uint64_t) {
    // qemu takes the header in the footer over the first one: it must name the directory that passed
    // and agree with the first header on everything that shapes the image.
    std::array<std::byte, sector_size> sec{};
    const std::uint64_t at = pos_;
    if (auto r = read_exact(sec, "the footer"); !r) return r;
    auto f = vmdk_header::parse_sector(sec, "footer ");
    if (!f) return f.error();
    if (gd_sector_ == 0 || f->gd_offset() != gd_sector_) {
        return make_error(errc::corrupt_image, "vmdk footer at " + at_byte(at) + " names the grain directory at sector " + std::to_string(f->gd_offset()) +
                                                   (gd_sector_ == 0 ? ", but no directory marker came before it" : ", but the directory was at sector " + std::to_string(gd_sector_)));
    }
    if (f->capacity() != header_.capacity() || f->granularity() != header_.granularity() || f->gtes_per_gt() != header_.gtes_per_gt() ||
        f->flags() != header_.flags() || f->compress_algorithm() != header_.compress_algorithm()) {
        return make_error(errc::corrupt_image, "vmdk footer at " + at_byte(at) + " differs from the first header (capacity, grain, table size, flags or compression)");
    }
    footer_seen_ = true;
    return {};
}

result<void> vmdk_stream_decoder::after_end_of_stream() {
    if (check_.tables_come_first()) {
        // qemu reads only what the tables name: whatever follows (qemu-img leaves zeros) is ignored.
        for (;;) {
            auto n = read_some_exact(packed_);
            if (!n) return n.error();
            if (*n < packed_.size()) break;
        }
        return check_.finish((pos_ + sector_size - 1) / sector_size);
    }
    if (!footer_seen_) return make_error(errc::corrupt_image, "vmdk end-of-stream marker at " + at_byte(pos_ - sector_size) + " without a footer before it");
    std::array<std::byte, 1> extra{};
    auto n = read_some_exact(extra);
    if (!n) return n.error();
    if (*n != 0) {
        return make_error(errc::corrupt_image, "vmdk stream goes on after its end-of-stream marker at " + at_byte(pos_ - 1 - sector_size) +
                                                   ": qemu reads the footer 1536 bytes before the end");
    }
    return check_.finish(pos_ / sector_size);
}

result<std::size_t> vmdk_stream_decoder::read_some_exact(std::span<std::byte> buf) {
    std::size_t got = 0;
    if (head_used_ < head_.size()) {
        got = std::min(buf.size(), head_.size() - head_used_);
        std::memcpy(buf.data(), head_.data() + head_used_, got);
        head_used_ += got;
        if (head_used_ == head_.size()) {  // all served: free it
            std::vector<std::byte>().swap(head_);
            head_used_ = 0;
        }
    }
    if (got < buf.size()) {
        auto n = read_full(*src_, buf.subspan(got));
        if (!n) return n.error();
        got += *n;
    }
    pos_ += got;
    return got;
}

result<void> vmdk_stream_decoder::read_exact(std::span<std::byte> buf, const std::string& what) {
    auto n = read_some_exact(buf);
    if (!n) return n.error();
    if (*n < buf.size()) return truncated(what);
    return {};
}

result<void> vmdk_stream_decoder::skip_to(std::uint64_t offset, const std::string& what) {
    while (pos_ < offset) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(offset - pos_, packed_.size()));
        if (auto r = read_exact(std::span(packed_).first(n), what); !r) return r;
    }
    return {};
}

error vmdk_stream_decoder::truncated(const std::string& what) const {
    return make_error(errc::truncated, "vmdk stream ended at byte " + std::to_string(pos_) + ", inside or before " + what);
}

}  // namespace cdi
