// The VMDK header parser of the image inspector (convert/vmdk_header): the sparse header, the embedded
// descriptor and its extents, the grain directory. Byte 0 picks the entry: the whole file, or the
// descriptor text alone (a descriptor file, or the one inside a sparse extent).
#include "convert/image_reader.hpp"
#include "convert/vmdk_header.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    const auto rest = fuzz::bytes_of(data + 1, size - 1);
    if ((data[0] & 1) != 0) {
        (void)vmdk_header::check_descriptor(fuzz::text_of(data + 1, size - 1));
        (void)vmdk_header::check_parent_hint(rest);
        (void)vmdk_header::check_qemu_cids(rest);
        if (rest.size() >= 512) (void)vmdk_header::parse_sector(rest.first(512), "fuzz");
        return 0;
    }
    const fuzz::memory_file file(rest);
    auto reader = image_reader::open(file.path());
    if (!reader) return 0;
    auto h = vmdk_header::read(*reader);
    if (h) (void)h->virtual_size();
    return 0;
}
