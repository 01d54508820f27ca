// Kubernetes quantities (importer/pod/quantity): the sizes in the pod's environment ("10Gi", "1e3",
// "0.5M"), parsed as CDI's resource.Quantity would be. Only the sanitizers judge here.
#include "fuzz/fuzz_support.hpp"
#include "importer/pod/quantity.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)cdi::parse_quantity(cdi::fuzz::text_of(data, size));
    return 0;
}
