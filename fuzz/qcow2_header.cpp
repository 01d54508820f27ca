// The qcow2 header parser of the image inspector (convert/qcow2_header): every field and table it reads
// from an untrusted image before qemu-img is allowed to open it. Only the sanitizers judge here; the
// inspector's answers are checked against qemu-img by image_inspector_differential.
#include "convert/image_reader.hpp"
#include "convert/qcow2_header.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    const fuzz::memory_file file(fuzz::bytes_of(data, size));
    auto reader = image_reader::open(file.path());
    if (!reader) return 0;
    auto h = qcow2_header::read(*reader);
    if (h) (void)h->virtual_size();
    // The stream decoders' entry: the header from cluster 0 only.
    (void)qcow2_header::read_stream_head(fuzz::bytes_of(data, size));
    return 0;
}
