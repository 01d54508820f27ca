#include "convert/vmdk_stream_tables.hpp"

#include "cdi/byte_order.hpp"

#include <algorithm>
#include <string>

namespace cdi {
namespace {

constexpr std::uint64_t named_grain = UINT64_MAX;

std::string at_sector(std::uint64_t s) { return "sector " + std::to_string(s) + " (byte " + std::to_string(s * 512) + ")"; }

}  // namespace

result<vmdk_grain_check> vmdk_grain_check::tables_first(const vmdk_grain_geometry& g, std::uint64_t limit) {
    vmdk_grain_check c(g, limit, true);
    if (auto r = c.check_held(g.grains() * sizeof(std::uint32_t)); !r) return r.error();
    c.table_.assign(static_cast<std::size_t>(g.grains()), 0);
    return c;
}

vmdk_grain_check vmdk_grain_check::tables_after(const vmdk_grain_geometry& g, std::uint64_t limit) { return vmdk_grain_check(g, limit, false); }

result<void> vmdk_grain_check::check_held(std::uint64_t bytes) const {
    if (bytes <= limit_) return {};
    return make_error(errc::scratch_required, "vmdk grain tables need " + std::to_string(bytes) + " bytes held to check them against the grains, over the limit of " +
                                                  std::to_string(limit_));
}

void vmdk_grain_check::load_table(std::uint64_t gd_index, std::span<const std::byte> gt) {
    const std::uint64_t grains = table_.size();
    for (std::uint64_t j = 0; j < geo_.gtes && (j + 1) * 4 <= gt.size(); ++j) {
        const std::uint64_t g = gd_index * geo_.gtes + j;
        if (g >= grains) break;  // past the capacity: qemu never reads these entries
        table_[static_cast<std::size_t>(g)] = load_le32(gt, static_cast<std::size_t>(j * 4));
    }
}

result<void> vmdk_grain_check::grain(std::uint64_t sector, std::uint64_t g) {
    if (first_) {
        auto& e = table_[static_cast<std::size_t>(g)];
        if (e == sector && is_grain_entry(e)) {
            e = 0;  // matched: a second marker for this grain finds 0 and is refused
            return {};
        }
        const std::string says = e == 0 ? "names no grain there (unallocated, or its marker came already)"
                                        : (e == 1 && geo_.zero_grain ? "marks it a zeroed grain" : "maps it to " + at_sector(e));
        return make_error(errc::corrupt_image, "vmdk grain marker at " + at_sector(sector) + " carries grain " + std::to_string(g) + " (LBA " +
                                                   std::to_string(g * geo_.granularity) + "), but the grain table " + says);
    }
    if (auto r = check_held((pending_.size() + 1) * sizeof(pending_grain) + tables_.size() * sizeof(seen_table)); !r) return r;
    pending_.push_back({sector, g});
    return {};
}

result<void> vmdk_grain_check::grain_table(std::uint64_t sector, std::span<const std::byte> gt) {
    std::optional<std::uint64_t> slot;
    for (std::uint64_t j = 0; j < geo_.gtes && (j + 1) * 4 <= gt.size(); ++j) {
        const std::uint64_t e = load_le32(gt, static_cast<std::size_t>(j * 4));
        if (!is_grain_entry(e)) continue;
        auto it = std::lower_bound(pending_.begin(), pending_.end(), e, [](const pending_grain& p, std::uint64_t s) { return p.sector < s; });
        const std::string where = "vmdk grain table at " + at_sector(sector) + " entry " + std::to_string(j);
        if (it == pending_.end() || it->sector != e || it->grain == named_grain) {
            if (e >= sector) {
                return make_error(errc::scratch_required, where + " names " + at_sector(e) + ", ahead of the table: a layout not decoded in stream order");
            }
            return make_error(errc::corrupt_image, where + " names " + at_sector(e) + ", which holds no grain marker (or one another entry names)");
        }
        if (it->grain % geo_.gtes != j) {
            return make_error(errc::corrupt_image, where + " names the grain marker at " + at_sector(e) + ", which carries grain " +
                                                       std::to_string(it->grain) + " (another entry's)");
        }
        const std::uint64_t s = it->grain / geo_.gtes;
        if (slot && *slot != s) {
            return make_error(errc::corrupt_image, where + " names a grain of directory slot " + std::to_string(s) + ", the table's others slot " +
                                                       std::to_string(*slot));
        }
        slot = s;
        it->grain = named_grain;
    }
    std::erase_if(pending_, [](const pending_grain& p) { return p.grain == named_grain; });
    tables_.push_back({sector, slot, false});
    return check_held(pending_.size() * sizeof(pending_grain) + tables_.size() * sizeof(seen_table));
}

result<void> vmdk_grain_check::directory(std::uint64_t first, std::span<const std::byte> bytes) {
    for (std::size_t k = 0; k + 4 <= bytes.size(); k += 4) {
        const std::uint64_t i = first + k / 4;
        const std::uint64_t t = load_le32(bytes, k);
        if (i >= geo_.gd_entries || t == 0) continue;  // qemu reads gd_entries slots; 0: nothing allocated there
        auto it = std::lower_bound(tables_.begin(), tables_.end(), t, [](const seen_table& s, std::uint64_t v) { return s.sector < v; });
        if (it == tables_.end() || it->sector != t) {
            return make_error(errc::corrupt_image, "vmdk grain directory slot " + std::to_string(i) + " names " + at_sector(t) +
                                                       ", where no grain table passed before the directory");
        }
        if (it->slot && *it->slot != i) {
            return make_error(errc::corrupt_image, "vmdk grain directory slot " + std::to_string(i) + " names the grain table at " + at_sector(t) +
                                                       ", whose grains belong to slot " + std::to_string(*it->slot));
        }
        it->named = true;
    }
    return {};
}

result<void> vmdk_grain_check::finish(std::uint64_t end_sector) const {
    if (first_) {
        for (std::size_t g = 0; g < table_.size(); ++g) {
            const std::uint64_t e = table_[g];
            if (!is_grain_entry(e)) continue;
            if (e >= end_sector) {
                return make_error(errc::truncated, "vmdk stream ended at " + at_sector(end_sector) + ", before the grain the grain table maps grain " +
                                                       std::to_string(g) + " to, at " + at_sector(e));
            }
            return make_error(errc::corrupt_image, "vmdk grain table maps grain " + std::to_string(g) + " to " + at_sector(e) +
                                                       ", where no grain marker for it is");
        }
        return {};
    }
    for (const auto& p : pending_) {
        return make_error(errc::corrupt_image, "vmdk grain marker at " + at_sector(p.sector) + " (grain " + std::to_string(p.grain) +
                                                   ") is named by no grain table");
    }
    for (const auto& t : tables_) {
        if (t.slot && !t.named) {
            return make_error(errc::corrupt_image, "vmdk grain table at " + at_sector(t.sector) + " is named by no grain directory slot");
        }
    }
    return {};
}

}  // namespace cdi
