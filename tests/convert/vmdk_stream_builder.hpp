#pragma once
// Builds streamOptimized VMDKs in VMware's layout (qemu-img 7.2 writes only its own, tables first):
// the header with its directory offset GD_AT_END, an embedded descriptor, the grain markers in LBA
// order, after each directory slot's grains a grain-table marker and the table, then the directory
// marker and directory, the footer marker and footer header, the end-of-stream marker. qemu-img reads
// these (the tests' oracle), and the knobs below make them hostile one flaw at a time.
#include "support/test_env.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdi::test {

struct vmware_stream {
    std::uint64_t capacity = 0;      // sectors
    std::uint64_t granularity = 128;  // sectors per grain
    std::uint32_t gtes = 512;
    std::uint32_t flags = (1u << 0) | (1u << 16) | (1u << 17);  // newline check, compressed, markers
    std::uint16_t compress_algorithm = 1;
    std::string create_type = "streamOptimized";
    std::string cid = "12345678";        // empty: no CID line
    std::string parent_cid = "ffffffff";  // empty: no parentCID line
    std::string extra_descriptor;  // lines added to the descriptor
    // The grains: guest LBA (sectors) → the compressed payload (zlib_pack of the grain's bytes).
    std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> grains;
    bool drop_tables = false;  // write no grain tables (the grains are then named by nothing)
    bool no_footer = false;

    static std::vector<std::byte> zlib_pack(const std::vector<std::byte>& raw) {
        uLongf n = compressBound(static_cast<uLong>(raw.size()));
        std::vector<std::byte> out(n);
        if (compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6) != Z_OK) {
            throw std::runtime_error("compress2 failed");
        }
        out.resize(n);
        return out;
    }

    std::vector<std::byte> build() const {
        std::vector<std::byte> f(512);
        auto put = [&f](std::uint64_t off, std::uint64_t v, int width) {
            if (f.size() < off + static_cast<std::uint64_t>(width)) f.resize(static_cast<std::size_t>(off + width));
            for (int i = 0; i < width; ++i) f[static_cast<std::size_t>(off) + i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
        };
        auto pad = [&f] { f.resize((f.size() + 511) / 512 * 512); };
        auto header = [&](std::uint64_t at, std::uint64_t gd) {
            std::memcpy(f.data() + at, "KDMV", 4);
            put(at + 4, 3, 4);
            put(at + 8, flags, 4);
            put(at + 12, capacity, 8);
            put(at + 20, granularity, 8);
            put(at + 28, 1, 8);   // descriptor at sector 1
            put(at + 36, 20, 8);  // of 20 sectors
            put(at + 44, gtes, 4);
            put(at + 48, 0, 8);
            put(at + 56, gd, 8);
            put(at + 64, 128, 8);  // grains from sector 128
            std::memcpy(f.data() + at + 73, "\n \r\n", 4);
            put(at + 77, compress_algorithm, 2);
        };
        header(0, ~0ull);
        const std::string desc = "# Disk DescriptorFile\nversion=1\n" + (cid.empty() ? "" : "CID=" + cid + "\n") +
                                 (parent_cid.empty() ? "" : "parentCID=" + parent_cid + "\n") + "createType=\"" + create_type + "\"\n" +
                                 extra_descriptor + "\n# Extent description\nRW " + std::to_string(capacity) +
                                 " SPARSE \"disk.vmdk\"\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n";
        f.resize(128 * 512);
        std::memcpy(f.data() + 512, desc.data(), desc.size());
        const std::uint64_t per_slot = granularity * gtes;
        const std::uint64_t gd_entries = (capacity + per_slot - 1) / per_slot;
        std::vector<std::uint64_t> gd(gd_entries, 0);
        std::map<std::uint64_t, std::vector<std::uint32_t>> tables;  // slot → entries
        auto sorted = grains;
        std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        auto write_table = [&](std::uint64_t slot) {
            if (drop_tables || !tables.count(slot)) return;
            const std::uint64_t m = f.size();
            put(m, (gtes * 4 + 511) / 512, 8);
            put(m + 8, 0, 4);
            put(m + 12, 1, 4);
            pad();
            gd[slot] = f.size() / 512;
            for (std::uint32_t j = 0; j < gtes; ++j) put(f.size(), tables[slot][j], 4);
            pad();
        };
        for (std::size_t k = 0; k < sorted.size(); ++k) {
            const auto& [lba, payload] = sorted[k];
            const std::uint64_t slot = lba / per_slot;
            auto& t = tables[slot];
            t.resize(gtes, 0);
            const std::uint64_t m = f.size();
            t[(lba / granularity) % gtes] = static_cast<std::uint32_t>(m / 512);
            put(m, lba, 8);
            put(m + 8, payload.size(), 4);
            f.insert(f.end(), payload.begin(), payload.end());
            pad();
            if (k + 1 == sorted.size() || sorted[k + 1].first / per_slot != slot) write_table(slot);
        }
        const std::uint64_t gdm = f.size();
        put(gdm, (gd_entries * 4 + 511) / 512, 8);
        put(gdm + 8, 0, 4);
        put(gdm + 12, 2, 4);
        pad();
        const std::uint64_t gd_sector = f.size() / 512;
        for (std::uint64_t i = 0; i < gd_entries; ++i) put(f.size(), gd[i], 4);
        pad();
        if (!no_footer) {
            const std::uint64_t fm = f.size();
            put(fm, 1, 8);
            put(fm + 8, 0, 4);
            put(fm + 12, 3, 4);
            f.resize(fm + 1024);
            header(fm + 512, gd_sector);
        }
        f.resize(f.size() + 512);  // end-of-stream marker: all zeros
        return f;
    }
};

}  // namespace cdi::test
