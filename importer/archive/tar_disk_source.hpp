#pragma once
// The one disk inside a tar, as a source (issue 18): with content type kubevirt a tar is never
// written as a disk. Entries are read in stream order, in place (nothing is unpacked).
//
// Contract:
// - OVA: the first regular file is an OVF descriptor (*.ovf, as the OVF spec puts it first). It is
//   read (at most max_ovf_bytes) and parsed (parse_ovf, single_ova_disk: several disks, a missing
//   File, an unsafe href are refused there); the entry its one disk names is the disk. Entries
//   between them (a manifest, other files the descriptor references) are skipped; no such entry by
//   the end → E_BAD_IMAGE naming the file; an entry whose size differs from ovf:size → E_BAD_IMAGE.
// - Otherwise the first regular file is the disk. Once its data is out, the rest of the archive may
//   hold no other regular file, except an OVF descriptor that follows it (an OVA with its disk
//   first: against the spec, but seen) naming exactly that entry, of that size, as its one disk,
//   with a manifest or certificate (*.mf, *.cert). Anything else → E_BAD_IMAGE naming the entries and
//   pointing at content type archive for a filesystem tree; that refusal comes after the disk's
//   data was read (the caller removes what it wrote).
// - Untrusted entries: directories are skipped; symlinks, hard links, devices, FIFOs and sockets,
//   names absolute or with "..", and more than max_entries entries are refused
//   (E_ARCHIVE_UNSAFE_ENTRY, or E_BAD_IMAGE for the count), wherever they are in the archive.
// - Everything before the disk's data is checked by open(), which the caller runs first; read()
//   then yields exactly the entry's bytes (sparse holes as zeros), and before its final 0 walks the
//   rest of the archive and reads the upstream to its clean end (stages above verify the whole
//   stream). Stream errors as archive_reader (upstream errors unchanged).
#include "cdi/source.hpp"
#include "importer/archive/archive_reader.hpp"
#include "importer/archive/ovf_descriptor.hpp"
#include "importer/archive/tar_entry_data.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cdi {

class tar_disk_source final : public source {
public:
    static constexpr std::size_t max_entries = 4096;

    explicit tar_disk_source(source_ptr upstream);
    ~tar_disk_source() override;
    tar_disk_source(const tar_disk_source&) = delete;
    tar_disk_source& operator=(const tar_disk_source&) = delete;

    // Reads the archive up to the disk entry's header; every refusal known by then is returned here.
    result<void> open();

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

    // The disk entry's path (normalised), empty before open().
    const std::string& entry_path() const noexcept { return path_; }
    // The OVF descriptor's disk, when the descriptor came first.
    const std::optional<ova_disk>& ova() const noexcept { return ova_; }
    // For the log: "disk.vmdk, the disk of the OVA's descriptor vm.ovf" or "disk.img, the tar's single file".
    std::string describe() const;

private:
    struct file_entry {
        std::string name;
        std::uint64_t size = 0;
    };
    result<std::optional<file_entry>> next_file();
    result<std::vector<std::byte>> read_small(const file_entry& e);
    result<ova_disk> descriptor_disk(const file_entry& e);
    result<void> finish();

    source_ptr upstream_;  // declared before reader_: the reader borrows it
    std::unique_ptr<archive_reader> reader_;
    std::string path_;
    std::string ovf_name_;
    std::optional<std::uint64_t> size_;
    std::optional<ova_disk> ova_;
    std::optional<tar_entry_data> data_;
    std::size_t entries_ = 0;
    bool done_ = false;
};

}  // namespace cdi
