// The image inspector (convert/image_inspector): the gate before qemu-img. Each input is inspected
// as every format it could be declared as, and matched against every format's magic.
#include "convert/image_inspector.hpp"
#include "convert/image_reader.hpp"
#include "fuzz/fuzz_support.hpp"

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    static constexpr std::array formats{image_format::qcow2, image_format::vmdk, image_format::vdi, image_format::vhd,
                                        image_format::vhdx,  image_format::raw,  image_format::iso};
    const fuzz::memory_file file(fuzz::bytes_of(data, size));
    for (const image_format f : formats) {
        auto info = inspect_image(file.path(), f, inspect_limits{.capacity = 1ull << 50});
        if (!info) continue;
        fuzz::check(info->format == f, "the inspector accepted another format than the one expected");
        fuzz::check(info->virtual_size <= (1ull << 50), "a virtual size above the capacity accepted");
    }
    if (auto reader = image_reader::open(file.path())) (void)matching_formats(*reader);
    return 0;
}
