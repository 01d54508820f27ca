#pragma once
// The OVF descriptor of an OVA appliance (DMTF DSP0243, OVF 1.x and 2.x): what an import needs from
// it, the files it references and the disks it declares, read by a small bounded XML reader of our
// own. Pure functions over bytes: no I/O, no global state, so a fuzzer calls them directly.
//
// parse_ovf contract:
// - At most max_ovf_bytes of input (the caller reads no more; a longer descriptor is E_BAD_IMAGE).
// - The XML read: an optional BOM and prolog, comments, processing instructions, CDATA, elements and
//   attributes ('…' or "…") with the five predefined entities and numeric character references.
//   A DOCTYPE, where entities are declared (the "billion laughs" bomb, external entities), is refused
//   with E_UNSAFE_IMAGE; any other entity reference, and malformed XML, is E_BAD_IMAGE ("OVF
//   descriptor: <what> at byte N"). Nothing is ever expanded beyond the input's own bytes.
// - Bounds: nesting depth 64, 100 000 elements, 256 attributes per element (namespace declarations
//   included), 256 namespace declarations in scope (E_BAD_IMAGE past them): a name resolves in
//   bounded time, so the worst 1 MiB input costs O(input × 256).
// - Namespaces are resolved: the root must be Envelope in the OVF 1.x namespace
//   (http://schemas.dmtf.org/ovf/envelope/1) or the 2.x one (…/envelope/2). File elements whose
//   parent is References, and Disk elements whose parent is DiskSection, both in that namespace,
//   are collected; their attributes are read in the OVF namespace (ovf:href), an unprefixed one
//   accepted too (some producers write them so).
//
// single_ova_disk contract (the one disk a DataVolume can hold):
// - No Disk → E_BAD_IMAGE. Several → E_BAD_IMAGE naming each disk with its file and sizes.
// - The disk must name a file (fileRef) that References declares; an href that is not a plain file
//   name inside the OVA (a '/', '\', ':' as in a URL, "." or "..") → E_UNSAFE_IMAGE; a chunked file
//   (ovf:chunkSize) or a compression other than none/identity/gzip → E_BAD_IMAGE; a size that is not
//   a decimal number → E_BAD_IMAGE.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cdi {

inline constexpr std::size_t max_ovf_bytes = std::size_t{1} << 20;

struct ovf_file {
    std::string id;           // ovf:id
    std::string href;         // ovf:href
    std::string size;         // ovf:size, as written (may be empty)
    std::string compression;  // ovf:compression, as written (may be empty)
    bool chunked = false;     // ovf:chunkSize present
};

struct ovf_disk {
    std::string disk_id;        // ovf:diskId
    std::string file_ref;       // ovf:fileRef (empty: a blank disk)
    std::string capacity;       // ovf:capacity, as written
    std::string capacity_units; // ovf:capacityAllocationUnits, as written
    std::string format;         // ovf:format (a URI naming the disk format)
};

struct ovf_descriptor {
    int version = 1;  // 1 for OVF 1.x, 2 for OVF 2.x (from the namespace)
    std::vector<ovf_file> files;
    std::vector<ovf_disk> disks;
};

result<ovf_descriptor> parse_ovf(std::span<const std::byte> xml);

struct ova_disk {
    std::string href;                   // the tar entry holding it
    std::optional<std::uint64_t> size;  // the entry's size the descriptor states
    bool gzip = false;                  // ovf:compression="gzip"
    std::string disk_id;
};

result<ova_disk> single_ova_disk(const ovf_descriptor& d);

}  // namespace cdi
