#pragma once
// The disk inside a containerdisk image (contract section 5) as a stream: the layers' blobs are
// fetched one at a time from the top layer down, each verified against its digest and size while it
// streams, decompressed (gzip, zstd or none, sniffed) and walked as a tar; containerdisk_overlay
// decides which entry is the disk. Nothing is held whole in memory or written to disk here.
//
// Contract:
// - open() walks layers until the disk's entry header is reached, so a missing or ambiguous disk in
//   the upper layers fails before any byte is written, and size_hint() is the entry's size.
// - read() yields the disk's bytes (holes of a sparse entry as zeros). Before the final 0 it reads
//   the rest of the disk's layer and every lower layer: each digest is checked and the overlay
//   rules applied to all of them, so a second file, a link under disk/ or a corrupt blob anywhere
//   fails the last read and the job never reports the target complete.
// - Errors: the image source's, digest_mismatch/truncated for a blob, bad_image/truncated/
//   decompress for a damaged layer, the overlay's refusals. After an error the source is unusable.
// Ownership: borrows the image source, which must outlive it.
#include "cdi/source.hpp"
#include "importer/archive/archive_reader.hpp"
#include "importer/stages/checksum_source.hpp"
#include "importer/registry/containerdisk_overlay.hpp"
#include "importer/registry/image_manifest.hpp"
#include "importer/registry/image_source.hpp"
#include "importer/archive/tar_entry_data.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace cdi {

class containerdisk_source final : public source {
public:
    // layers in manifest order (base first), as layers_to_read() leaves them (each digest once).
    static result<std::unique_ptr<containerdisk_source>> open(image_source& images, std::vector<descriptor> layers);

    ~containerdisk_source() override;
    containerdisk_source(const containerdisk_source&) = delete;
    containerdisk_source& operator=(const containerdisk_source&) = delete;

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return data_ ? std::optional(data_->size()) : std::nullopt; }

    // "disk/disk.qcow2".
    const std::string& disk_path() const noexcept { return overlay_.disk_path(); }
    // The digest of the layer holding the disk.
    const std::string& disk_layer() const noexcept { return disk_layer_; }

private:
    containerdisk_source(image_source& images, std::vector<descriptor> layers) : images_(images), layers_(std::move(layers)) {}

    // Opens the next lower layer; false when there is none.
    result<bool> open_next_layer();
    // Walks the current layer's entries: true when stopped at the disk's entry; false at the end of
    // the layer, once its digest is verified and its hiding rules applied.
    result<bool> scan_layer();
    // After the disk's data: the rest of its layer and every lower one.
    result<void> check_rest();
    // e with the current layer named, unless it names it already.
    error in_layer(const error& e) const;

    image_source& images_;
    std::vector<descriptor> layers_;
    std::size_t next_ = 0;  // layers opened so far, counted from the top

    source_ptr layer_top_;                    // decompressed tar stream of the current layer, read ahead
    checksum_source* layer_check_ = nullptr;  // its digest check, inside layer_top_'s chain
    std::unique_ptr<archive_reader> reader_;  // borrows layer_top_; reset before it
    std::string layer_name_;

    containerdisk_overlay overlay_;
    std::optional<tar_entry_data> data_;
    std::string disk_layer_;
    bool done_ = false;
    std::optional<error> error_;
};

}  // namespace cdi
