#pragma once
// The virtual size an image declares in its first bytes, for the formats that are staged to scratch
// before qemu-img reads them (VDI, dynamic VHD): the import job compares it with the target's
// capacity at the header, so an image that cannot fit is refused before its body is downloaded and
// staged. The full inspection (convert/image_inspector) still runs on the staged file; this only
// answers early, and only where the answer equals what qemu will compute from the same bytes.
#include "cdi/image_format.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace cdi {

// nullopt when the format is not one of these, the head is too short, or the header is not one the
// inspector would accept far enough to name a size (wrong version, sector size, bad checksum):
//   vdi   disk_size (LE64 at 0x170) rounded down to 512, for version 1.1 with 512-byte sectors
//   vhd   the footer copy at 0 (dynamic disks), sized by qemu's rule (vhd_header::sectors_by_qemu_rule)
// qcow2 and streamOptimized VMDK are checked by their stream decoders; VHDX keeps its size in a
// metadata region usually past the sniffed head, so it is checked while it is staged
// (staged_size_watch.hpp), once the staged bytes hold that region.
std::optional<std::uint64_t> declared_virtual_size(image_format format, std::span<const std::byte> head) noexcept;

}  // namespace cdi
