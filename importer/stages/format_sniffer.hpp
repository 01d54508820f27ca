#pragma once
// Recognises an image format from the first bytes of a stream (CDI's header table, contract
// section 3, plus the formats we must recognise only to refuse or to flag as polyglots).
//
// Magic table (offsets in bytes; every check needs the whole magic inside `head`):
//   gzip   1F 8B 08 at 0 (ID1 ID2 and CM=deflate; 1F 8B with another CM is not gzip and stays raw)
//   xz     FD 37 7A 58 5A 00 at 0          zstd  28 B5 2F FD at 0
//   qcow2  "QFI\xfb" at 0 with version (BE u32 at 4) 2 or 3; qcow1 when the version is 1. Any other
//          version, or a head too short to hold it, is still reported qcow2 so that the qcow2
//          inspector refuses it with a reason naming the version (security.md C7) instead of the
//          image silently passing as raw.
//   qed    "QED\0" at 0 (recognised only to be refused)
//   vmdk   "KDMV" at 0 (sparse / streamOptimized), or a text descriptor starting with
//          "# Disk DescriptorFile" (the inspector refuses descriptors that name extent files)
//   vdi    7F 10 DA BE at 0x40              vhd   "conectix" at 0 (the dynamic VHD's footer copy)
//   vhdx   "vhdxfile" at 0                  tar   "ustar" at 0x101
//   iso    "CD001" at 0x8001, 0x8801 or 0x9001 (volume descriptors 1-3; sniff_window covers them)
//   anything else: raw. Fixed VHDs (footer only at the end) are raw here: see convert/vhd_header.hpp.
//
// Ambiguity: `matches` lists every format whose magic is present, each once. More than one entry
// is always ambiguous and the pipeline refuses the image (E_AMBIGUOUS_FORMAT). The magics at
// offset 0 exclude each other, so a second match can only come from vdi (0x40), tar (0x101) or
// iso (0x8001...), and no legitimately produced file carries two of them:
//   - An ISO that is also a hybrid MBR/GPT disk matches only iso (we sniff no partition tables).
//   - A qcow2/vmdk/vdi/vhd/vhdx holding an ISO guest puts the guest's CD001 at its data offset plus
//     0x8001, never at 0x8001 itself; compressed data cannot place a magic at an offset by chance.
//   - tar + iso is refused too: a tar member's data starts at 512 or later, so a tar carries
//     "CD001" at 0x8001 only when built to; and which one wins changes the archive content type's
//     result (files extracted vs. bytes written), so neither reading is safe to pick.
//   - qcow2 + iso is the known polyglot (security.md C5, oslo "Multiple formats detected").
// When ambiguous, `format` holds the first match in table order (offset-0 formats first); callers
// must look at matches.size() before trusting it.
#include "cdi/image_format.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace cdi {

// Bytes to peek before sniffing: enough for ISO 9660's "CD001" at 0x9001 (the last place looked at).
inline constexpr std::size_t sniff_window = 64 * 1024;

// The smallest image we accept after unwrapping: one 512-byte sector (CDI's MaxExpectedHdrSize).
inline constexpr std::size_t min_image_bytes = 512;

struct sniff_result {
    image_format format = image_format::raw;  // raw when nothing matched
    std::vector<image_format> matches;        // every format whose magic matched (size > 1 = ambiguous)
};

// Pure function on the first bytes of a stream (up to sniff_window of them; more are ignored).
sniff_result sniff_format(std::span<const std::byte> head);

}  // namespace cdi
