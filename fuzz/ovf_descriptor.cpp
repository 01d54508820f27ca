// The OVF descriptor of an OVA (importer/archive/ovf_descriptor: parse_ovf, single_ova_disk): a bounded
// XML reader of our own over untrusted bytes. Every input must end in a descriptor or a bad_image /
// unsafe_image refusal; any other class is a broken contract.
#include "fuzz/fuzz_support.hpp"
#include "importer/archive/ovf_descriptor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    const auto refused_as_documented = [](const error& e) { return e.is(errc::bad_image) || e.is(errc::unsafe_image); };
    auto d = parse_ovf(fuzz::bytes_of(data, size));
    if (!d) {
        fuzz::check(refused_as_documented(d.error()), "parse_ovf refused with another class");
        return 0;
    }
    auto disk = single_ova_disk(*d);
    if (!disk) fuzz::check(refused_as_documented(disk.error()), "single_ova_disk refused with another class");
    return 0;
}
