// Which file of a containerdisk is the disk (importer/registry/containerdisk_overlay): layers,
// whiteouts, opaque markers, links and directories under disk/. The input is lines: "<kind><path>",
// kind r (regular), d (directory), s (symlink), h (hard link), o (other); an empty line ends a layer.
#include "fuzz/fuzz_support.hpp"
#include "importer/registry/containerdisk_overlay.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    using kind = containerdisk_overlay::kind;
    containerdisk_overlay overlay;
    std::string_view rest = fuzz::text_of(data, size);
    bool found = false;
    while (!rest.empty()) {
        const auto eol = rest.find('\n');
        const std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
        if (line.empty()) {
            overlay.end_layer();
            continue;
        }
        kind k = kind::other;
        switch (line[0]) {
        case 'r': k = kind::regular; break;
        case 'd': k = kind::directory; break;
        case 's': k = kind::symlink; break;
        case 'h': k = kind::hardlink; break;
        default: break;
        }
        auto is_disk = overlay.entry(line.substr(1), k);
        if (!is_disk) return 0;  // the import ends at the first refusal
        if (*is_disk) {
            fuzz::check(!found, "a second disk was chosen");
            fuzz::check(k == kind::regular, "the disk is not a regular file");
            found = true;
        }
    }
    auto f = overlay.finish();
    fuzz::check(!f || found || !overlay.disk_path().empty(), "finish() succeeded without a disk");
    return 0;
}
