// Registry JSON (importer/registry/image_manifest): manifests, indexes (manifest lists) and image
// configs, and the platform choice over an index. Byte 0 picks the Content-Type the body came with.
#include "fuzz/fuzz_support.hpp"
#include "importer/registry/image_manifest.hpp"

#include <array>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    if (size == 0) return 0;
    static constexpr std::array<std::string_view, 6> content_types{
        media_types::docker_manifest, media_types::docker_list, media_types::oci_manifest,
        media_types::oci_index,       "application/json",       ""};
    const std::string_view body = fuzz::text_of(data + 1, size - 1);
    auto m = parse_manifest(body, content_types[data[0] % content_types.size()]);
    if (m) {
        if (auto* index = std::get_if<image_index>(&*m)) {
            fuzz::check(index->manifests.size() <= max_manifest_entries, "an index longer than the limit");
            (void)choose_platform(*index, "amd64");
            (void)choose_platform(*index, "arm64", "v8");
        } else {
            const auto& man = std::get<image_manifest>(*m);
            fuzz::check(man.layers.size() <= max_manifest_entries, "a manifest with more layers than the limit");
        }
    }
    (void)parse_image_config(body);
    return 0;
}
