#pragma once
// The image format inspector: our own parser, run on a staged image file before any qemu-img call
// (security.md §0.1, §2.3, C1-C10). It never trusts qemu's probing: it runs every format's magic on
// the file, refuses a file two formats claim, checks that the declared format is the one found, and
// then reads that format's headers with bounded preads to refuse anything that would make qemu-img
// open another file (backing files, data files, json: names, VMDK extents, parents), anything qemu
// would refuse or misread, resource bombs, truncation, and a virtual size larger than the target.
#include "cdi/error.hpp"
#include "cdi/image_format.hpp"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace cdi {

class image_reader;

struct inspect_limits {
    std::uint64_t capacity;  // the target's capacity in bytes: virtual size must be <= this
};

struct image_info {
    image_format format;         // equals `expected` on success (qcow2, vmdk, vdi, vhd, vhdx, raw, iso)
    std::uint64_t virtual_size;  // the disk size qemu-img will produce (raw, iso: the file size)
};

// Reads the headers of the staged file at `path` with pread (random access, bounded reads: no table
// bigger than a few MiB is loaded; large tables are walked in 64 KiB pieces), checks that `expected`
// is what the file is, and that it is safe. Errors (one line naming what was found):
//   ambiguous_format  two formats match ("image matches both qcow2 and iso")
//   format_mismatch   the file is not `expected` ("declared raw but the file is a qcow2 image")
//   unsafe_image      backing/data file, json:, VMDK extent or descriptor line, differencing disk, QED
//   corrupt_image     tables too large or out of the file, truncation, dirty/corrupt qcow2
//   bad_image         a version or variant qemu (or we) do not accept (qcow v1, qcow2 v4, encrypted)
//   too_large         virtual size > limits.capacity, in CDI's words
//   bad_request       `expected` is not a disk image format (gzip, xz, zstd, tar)
//   io                the file cannot be opened or read
// raw (and iso) declared: the virtual size is the file size, and no other format may match, so a
// raw declaration never smuggles a header past us.
result<image_info> inspect_image(const std::filesystem::path& path, image_format expected, const inspect_limits& limits);

// Every format whose signature the file carries, in a fixed order: qcow2 / qcow1 / qed / vmdk (sparse
// or descriptor text) / vdi / vhdx / vhd (footer at 0, else a footer with a valid checksum at the
// end) / iso (CD001 at 0x8001, 0x8801 or 0x9001). Empty means raw.
result<std::vector<image_format>> matching_formats(const image_reader& file);

}  // namespace cdi
