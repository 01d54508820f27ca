// The vhdx header parser of the image inspector (convert/vhdx_header): every field and table it reads
// from an untrusted image before qemu-img is allowed to open it. Only the sanitizers judge here; the
// inspector's answers are checked against qemu-img by image_inspector_differential.
#include "convert/image_reader.hpp"
#include "convert/vhdx_header.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    const fuzz::memory_file file(fuzz::bytes_of(data, size));
    auto reader = image_reader::open(file.path());
    if (!reader) return 0;
    auto h = vhdx_header::read(*reader);
    if (h) (void)h->virtual_size();
    return 0;
}
