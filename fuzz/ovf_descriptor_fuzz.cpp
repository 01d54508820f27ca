// libFuzzer harness: parse_ovf and single_ova_disk over arbitrary bytes (issue 18). Every input must
// end in a descriptor or a bad_image/unsafe_image refusal; anything else aborts.
#include "importer/archive/ovf_descriptor.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto d = cdi::parse_ovf(std::as_bytes(std::span<const std::uint8_t>(data, size)));
    if (!d) {
        if (!d.error().is(cdi::errc::bad_image) && !d.error().is(cdi::errc::unsafe_image)) std::abort();
        return 0;
    }
    auto disk = cdi::single_ova_disk(*d);
    if (!disk && !disk.error().is(cdi::errc::bad_image) && !disk.error().is(cdi::errc::unsafe_image)) std::abort();
    return 0;
}
