#include "importer/registry/containerdisk_image.hpp"

#include "importer/registry/containerdisk_layers.hpp"
#include "importer/registry/env_labels.hpp"
#include "importer/registry/image_blobs.hpp"

#include <spdlog/spdlog.h>

#include <variant>

namespace cdi {
namespace {

// An index may name another index (an OCI layout's index.json pointing at a multi-arch index).
constexpr int max_index_depth = 2;

error prefixed(const error& e, const std::string& prefix) { return error{e.code, prefix + e.context}; }

result<void> refuse_bootc(const image_config& config, const std::string& name) {
    for (const char* label : {"containers.bootc", "ostree.bootable"}) {
        auto it = config.labels.find(label);
        if (it != config.labels.end() && (it->second == "1" || it->second == "true"))
            return make_error(errc::bad_image, "bootc image detected: " + name + " has the label " + label + "=" + it->second +
                                                   "; bootable containers are not containerdisks");
    }
    return {};
}

}  // namespace

result<containerdisk_image> resolve_containerdisk(image_source& images, std::string_view architecture) {
    auto bytes = images.top_manifest();
    if (!bytes) return bytes.error();
    bool from_index = false;
    for (int depth = 0;; ++depth) {
        if (auto v = verify_manifest(*bytes, "manifest of " + images.name()); !v) return v.error();
        auto parsed = parse_manifest(bytes->body, bytes->content_type);
        if (!parsed) return prefixed(parsed.error(), "manifest of " + images.name() + ": ");
        if (auto* m = std::get_if<image_manifest>(&*parsed)) {
            containerdisk_image out;
            out.manifest = std::move(*m);
            auto layers = layers_to_read(out.manifest.layers);
            if (!layers) return prefixed(layers.error(), "manifest of " + images.name() + ": ");
            out.layers = std::move(*layers);
            auto config_blob = images.open_blob(out.manifest.config);
            if (!config_blob) return config_blob.error();
            const std::string what = "config " + out.manifest.config.digest + " of " + images.name();
            auto checked = verified_blob(std::move(*config_blob), out.manifest.config, what);
            if (!checked) return checked.error();
            auto body = read_small(**checked, max_config_bytes, what);
            if (!body) return body.error();
            auto config = parse_image_config(*body);
            if (!config) return prefixed(config.error(), what + ": ");
            out.config = std::move(*config);
            if (!from_index && !architecture.empty() && out.config.architecture != architecture)
                return make_error(errc::bad_image, "Error validating architecture: manifest image architecture: \"" +
                                                       out.config.architecture + "\" doesn't match requested architecture: \"" +
                                                       std::string(architecture) + "\"");
            if (auto b = refuse_bootc(out.config, images.name()); !b) return b.error();
            out.labels = env_labels(out.config.env);
            return out;
        }
        if (depth >= max_index_depth) return make_error(errc::bad_image, "image indexes of " + images.name() + " nest too deep");
        const auto& index = std::get<image_index>(*parsed);
        const std::string arch = architecture.empty() ? runtime_architecture() : std::string(architecture);
        auto chosen = choose_platform(index, arch);
        if (!chosen) return prefixed(chosen.error(), "Error retrieving image: ");
        spdlog::info("{}: chose {} for linux/{}", images.name(), chosen->digest, arch);
        bytes = images.manifest(*chosen);
        if (!bytes) return bytes.error();
        from_index = true;
    }
}

}  // namespace cdi
