#pragma once
// The qcow2 header (docs/interop/qcow2.txt), read and checked before qemu-img ever opens the file.
// Rejects what makes qemu-img touch another file (backing file, external data file, json: names),
// what qemu would refuse or misread (versions, unknown incompatible features, encryption), the
// resource bombs of iotests 080 (huge L1 / refcount tables, extensions past the header cluster), and
// truncation (tables or data clusters past the end of the file, which qemu-img convert does not see).
#include "convert/image_reader.hpp"

#include <cstdint>

namespace cdi {

class qcow2_header {
public:
    // Reads the header at offset 0 of file (whose magic the caller matched) and runs every check.
    static result<qcow2_header> read(const image_reader& file);

    // The same checks on the first cluster of a stream, before the rest has arrived: cluster0 holds
    // the image's first cluster_size bytes (the caller reads bytes 0..103 first to learn
    // cluster_bits, then the rest; zero-padded if the stream is shorter). The checks that need the
    // whole file (tables inside it, snapshots, L2 walk) are skipped: the streaming decoder makes
    // them as the tables arrive.
    static result<qcow2_header> read_stream_head(std::span<const std::byte> cluster0);

    // qemu's total_sectors: the size field rounded down to 512 (qemu-img create rounds up instead).
    std::uint64_t virtual_size() const noexcept { return size_ / 512 * 512; }
    std::uint32_t version() const noexcept { return version_; }
    std::uint32_t cluster_bits() const noexcept { return cluster_bits_; }
    std::uint64_t cluster_size() const noexcept { return cluster_size_; }
    std::uint64_t l1_offset() const noexcept { return l1_offset_; }
    std::uint32_t l1_entries() const noexcept { return l1_size_; }
    std::uint64_t reftable_offset() const noexcept { return reftable_offset_; }
    std::uint32_t reftable_clusters() const noexcept { return reftable_clusters_; }
    bool extended_l2() const noexcept { return (incompat_ & incompat_extended_l2) != 0; }
    // 0 zlib (raw deflate), 1 zstd.
    std::uint8_t compression_type() const noexcept { return compression_type_; }

    // Incompatible feature bits (qcow2.txt "incompatible_features").
    static constexpr std::uint64_t incompat_dirty = 1ull << 0;
    static constexpr std::uint64_t incompat_corrupt = 1ull << 1;
    static constexpr std::uint64_t incompat_data_file = 1ull << 2;
    static constexpr std::uint64_t incompat_compression = 1ull << 3;
    static constexpr std::uint64_t incompat_extended_l2 = 1ull << 4;
    static constexpr std::uint64_t incompat_known = (1ull << 5) - 1;

    // qemu's limits (block/qcow2.h): the L1 table and the refcount table in bytes, snapshots.
    static constexpr std::uint64_t max_l1_bytes = 32ull << 20;
    static constexpr std::uint64_t max_reftable_bytes = 8ull << 20;
    static constexpr std::uint32_t max_snapshots = 65536;

private:
    // The fixed header fields from its first bytes (got of them valid), version and header length checked.
    static result<qcow2_header> parse_fields(std::span<const std::byte> head, std::size_t got, std::uint64_t file_size);
    // Sets cluster_size_ once cluster_bits_ is known good; checks the header length against it.
    result<void> check_cluster_bits();
    result<void> check_features() const;
    result<void> check_extensions(std::span<const std::byte> cluster0) const;
    // file null: the stream head, where the tables' place in the file cannot be checked yet.
    result<void> check_tables(const image_reader* file) const;
    result<void> check_snapshots(const image_reader& file) const;
    result<void> check_l2_tables(const image_reader& file) const;

    std::uint32_t version_ = 0;
    std::uint64_t backing_offset_ = 0;
    std::uint32_t backing_size_ = 0;
    std::uint32_t cluster_bits_ = 0;
    std::uint64_t cluster_size_ = 0;
    std::uint64_t size_ = 0;
    std::uint32_t crypt_method_ = 0;
    std::uint32_t l1_size_ = 0;
    std::uint64_t l1_offset_ = 0;
    std::uint64_t reftable_offset_ = 0;
    std::uint32_t reftable_clusters_ = 0;
    std::uint32_t nb_snapshots_ = 0;
    std::uint64_t snapshots_offset_ = 0;
    std::uint64_t incompat_ = 0;
    std::uint32_t refcount_order_ = 4;
    std::uint32_t header_length_ = 72;
    std::uint8_t compression_type_ = 0;
};

}  // namespace cdi
