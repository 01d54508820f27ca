// Image references (importer/registry/image_reference): docker://host[:port]/repo[:tag][@digest],
// short names, oci-archive:path[:ref]. Invariant: a parsed docker reference prints (to_string(), the
// display form without the transport) to a string that, as docker://<it>, parses back to the same
// registry, repository, tag and digest.
#include "fuzz/fuzz_support.hpp"
#include "importer/registry/image_reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    auto r = image_reference::parse(fuzz::text_of(data, size));
    if (!r) return 0;
    (void)r->api_host();
    (void)r->manifest_reference();
    const std::string printed = r->to_string();
    if (r->kind != image_reference::transport::docker) return 0;
    fuzz::check(r->digest.empty() || is_valid_digest(r->digest), "an invalid digest accepted");
    auto again = image_reference::parse("docker://" + printed);
    fuzz::check(bool(again), "to_string() does not parse back: " + printed);
    fuzz::check(again->registry == r->registry && again->repository == r->repository && again->tag == r->tag &&
                    again->digest == r->digest,
                "to_string() parses back to another reference: " + printed);
    return 0;
}
