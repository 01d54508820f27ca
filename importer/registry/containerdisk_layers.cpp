#include "importer/registry/containerdisk_layers.hpp"

#include <map>
#include <set>
#include <string>

namespace cdi {

result<std::vector<descriptor>> layers_to_read(const std::vector<descriptor>& layers) {
    // digest -> the size its first copy declares.
    std::map<std::string, std::uint64_t> sizes;
    for (const descriptor& d : layers) {
        auto [it, fresh] = sizes.emplace(d.digest, d.size);
        if (!fresh && it->second != d.size)
            return make_error(errc::bad_image, "layer " + d.digest + " is listed with two sizes, " + std::to_string(it->second) +
                                                   " and " + std::to_string(d.size));
    }
    if (sizes.size() > max_distinct_layers)
        return make_error(errc::bad_image, "the image has " + std::to_string(sizes.size()) + " distinct layers, more than " +
                                               std::to_string(max_distinct_layers));
    // Walk top down, keeping the first copy of each digest met, then restore base-first order.
    std::vector<descriptor> out;
    out.reserve(sizes.size());
    std::set<std::string> kept;
    for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
        if (kept.insert(it->digest).second) out.push_back(*it);
    }
    return std::vector<descriptor>(out.rbegin(), out.rend());
}

}  // namespace cdi
