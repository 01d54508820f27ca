#include "importer/registry/registry_pull.hpp"

#include "importer/registry/image_reference.hpp"
#include "importer/registry/oci_archive.hpp"
#include "importer/registry/registry_client.hpp"

#include <spdlog/spdlog.h>

namespace cdi {
namespace {

constexpr std::string_view read_failed = "Unable to transfer source data to scratch space: Failed to read registry image: ";

error wrapped(const error& e, std::string_view words) { return error{e.code, std::string(words) + e.context}; }

}  // namespace

result<std::unique_ptr<registry_pull>> registry_pull::open(const std::string& endpoint, const http_options& http,
                                                           const std::string& architecture, const cancel_token& cancel) {
    auto ref = image_reference::parse(endpoint);
    if (!ref) return wrapped(ref.error(), read_failed);
    std::unique_ptr<registry_pull> p(new registry_pull());
    if (ref->kind == image_reference::transport::oci_archive) {
        auto archive = oci_archive::open(ref->archive, ref->archive_image);
        if (!archive) return wrapped(archive.error(), std::string(read_failed) + "failed to pull image: ");
        p->images_ = std::move(*archive);
    } else {
        auto client = registry_client::connect(*ref, http, cancel);
        if (!client) return wrapped(client.error(), std::string(read_failed) + "failed to pull image: ");
        if (http.insecure_tls) spdlog::warn("INSECURE_TLS: the registry's certificate is not verified");
        p->images_ = std::move(*client);
    }
    spdlog::info("pulling {}", p->images_->name());

    auto image = resolve_containerdisk(*p->images_, architecture);
    if (!image) {
        // Reaching the registry and reading its manifests is "pulling"; what the image holds is not.
        const bool pull_failure = image.error().is(errc::source_unreachable) || image.error().is(errc::source_http) ||
                                  image.error().is(errc::auth) || image.error().is(errc::tls_verify) ||
                                  image.error().is(errc::timeout) || image.error().is(errc::proxy);
        return wrapped(image.error(), std::string(read_failed) + (pull_failure ? "failed to pull image: " : ""));
    }
    p->image_ = std::move(*image);
    auto disk = containerdisk_source::open(*p->images_, p->image_.layers);
    if (!disk) return wrapped(disk.error(), read_failed);
    p->disk_ = std::move(*disk);
    return p;
}

}  // namespace cdi
