#include "importer/registry/image_manifest.hpp"

#include "cdi/ascii.hpp"
#include "importer/registry/image_reference.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace cdi {
namespace {

namespace json = boost::json;

constexpr std::string_view docker_schema1_types[] = {
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
};
constexpr std::string_view generic_types[] = {"application/json", "application/octet-stream", "text/plain"};
// What the containerdisk importer can unpack (the gzip/zstd/plain tar readers).
constexpr std::string_view layer_types[] = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
};
// Strings from the body quoted in error contexts are cut to this length.
constexpr std::size_t quoted_value_max = 160;

template <std::size_t N>
bool one_of(std::string_view s, const std::string_view (&set)[N]) noexcept {
    return std::find(std::begin(set), std::end(set), s) != std::end(set);
}

bool is_known_manifest_type(std::string_view s) noexcept {
    return s == media_types::docker_manifest || s == media_types::docker_list || s == media_types::oci_manifest ||
           s == media_types::oci_index;
}

bool is_index_type(std::string_view s) noexcept { return s == media_types::docker_list || s == media_types::oci_index; }

// A value from the registry as a quoted, printable, bounded string for an error context.
std::string quote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s.substr(0, quoted_value_max)) {
        out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
    }
    if (s.size() > quoted_value_max) out += "...";
    return out + "\"";
}

error bad(std::string context) { return make_error(errc::bad_image, std::move(context)); }

// Moves a result's value into out, or hands back its error.
template <class T>
std::optional<error> into(T& out, result<T> r) {
    if (!r) return r.error();
    out = std::move(*r);
    return std::nullopt;
}

// "Application/JSON; charset=utf-8" -> "application/json"
std::string base_media_type(std::string_view content_type) {
    return ascii::trim_lower(content_type.substr(0, content_type.find(';')), ascii::ows);
}

// A string member: "" when missing or null, an error when present with another type.
result<std::string> optional_string(const json::object& o, std::string_view key, std::string_view where) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return std::string();
    if (!v->is_string()) return bad(std::string(where) + " \"" + std::string(key) + "\" is not a string");
    return std::string(v->as_string());
}

// A JSON object of strings (annotations, labels); missing or null is empty.
result<std::map<std::string, std::string>> string_map(const json::object& o, std::string_view key,
                                                       std::string_view where) {
    std::map<std::string, std::string> out;
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_object()) return bad(std::string(where) + " \"" + std::string(key) + "\" is not an object");
    for (const auto& kv : v->as_object()) {
        if (!kv.value().is_string()) {
            return bad(std::string(where) + " \"" + std::string(key) + "\" entry " + quote(kv.key()) + " is not a string");
        }
        out.emplace(std::string(kv.key()), std::string(kv.value().as_string()));
    }
    return out;
}

// A JSON array of strings (urls, Env); missing or null is empty.
result<std::vector<std::string>> string_list(const json::object& o, std::string_view key, std::string_view where) {
    std::vector<std::string> out;
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return out;
    if (!v->is_array()) return bad(std::string(where) + " \"" + std::string(key) + "\" is not an array");
    for (const auto& e : v->as_array()) {
        if (!e.is_string()) return bad(std::string(where) + " \"" + std::string(key) + "\" holds a non-string");
        out.emplace_back(e.as_string());
    }
    return out;
}

result<std::uint64_t> descriptor_size(const json::object& o, std::string_view where) {
    const json::value* v = o.if_contains("size");
    if (v == nullptr || v->is_null()) return bad(std::string(where) + " has no size");
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64()) {
        if (v->as_int64() < 0) return bad(std::string(where) + " size " + std::to_string(v->as_int64()) + " is negative");
        return static_cast<std::uint64_t>(v->as_int64());
    }
    return bad(std::string(where) + " size is not an integer");
}

result<descriptor> parse_descriptor(const json::value& v, const std::string& where) {
    if (!v.is_object()) return bad(where + " is not a JSON object");
    const json::object& o = v.as_object();
    descriptor d;
    if (auto e = into(d.media_type, optional_string(o, "mediaType", where))) return *e;
    if (d.media_type.empty()) return bad(where + " has no mediaType");
    if (auto e = into(d.digest, optional_string(o, "digest", where))) return *e;
    if (!is_valid_digest(d.digest)) return bad(where + " digest " + quote(d.digest) + " is not a valid digest");
    if (auto e = into(d.size, descriptor_size(o, where))) return *e;
    if (auto e = into(d.annotations, string_map(o, "annotations", where))) return *e;
    if (auto e = into(d.urls, string_list(o, "urls", where))) return *e;
    if (const json::value* p = o.if_contains("platform"); p != nullptr && !p->is_null()) {
        if (!p->is_object()) return bad(where + " platform is not an object");
        const std::string pwhere = where + " platform";
        cdi::platform plat;
        if (auto e = into(plat.architecture, optional_string(p->as_object(), "architecture", pwhere))) return *e;
        if (auto e = into(plat.os, optional_string(p->as_object(), "os", pwhere))) return *e;
        if (auto e = into(plat.variant, optional_string(p->as_object(), "variant", pwhere))) return *e;
        d.platform = std::move(plat);
    }
    return d;
}

const json::array* array_member(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? &v->as_array() : nullptr;
}

result<image_index> parse_index(const json::object& o, std::string media_type) {
    const json::array* entries = array_member(o, "manifests");
    if (entries == nullptr) return bad("image index has no \"manifests\" array");
    if (entries->size() > max_manifest_entries) {
        return bad("image index lists " + std::to_string(entries->size()) + " manifests, more than " +
                   std::to_string(max_manifest_entries));
    }
    image_index index{std::move(media_type), {}};
    index.manifests.reserve(entries->size());
    for (std::size_t i = 0; i < entries->size(); ++i) {
        auto d = parse_descriptor((*entries)[i], "image index entry " + std::to_string(i));
        if (!d) return d.error();
        index.manifests.push_back(std::move(*d));
    }
    return index;
}

result<image_manifest> parse_image_manifest(const json::object& o, std::string media_type) {
    const json::value* config = o.if_contains("config");
    if (config == nullptr || config->is_null()) return bad("image manifest has no config");
    const json::array* layers = array_member(o, "layers");
    if (layers == nullptr) return bad("image manifest has no \"layers\" array");
    if (layers->size() > max_manifest_entries) {
        return bad("image manifest lists " + std::to_string(layers->size()) + " layers, more than " +
                   std::to_string(max_manifest_entries));
    }
    image_manifest m{std::move(media_type), {}, {}};
    if (auto e = into(m.config, parse_descriptor(*config, "config"))) return *e;
    m.layers.reserve(layers->size());
    for (std::size_t i = 0; i < layers->size(); ++i) {
        auto d = parse_descriptor((*layers)[i], "layer " + std::to_string(i));
        if (!d) return d.error();
        if (!d->urls.empty()) return bad("foreign layer " + d->digest + " is not supported");
        if (!one_of(d->media_type, layer_types)) {
            return bad("layer media type " + quote(d->media_type) + " is not supported");
        }
        m.layers.push_back(std::move(*d));
    }
    return m;
}

constexpr std::string_view schema1_refusal = "docker schema 1 manifests are not supported";

}  // namespace

std::string manifest_accept_header() {
    return std::string(media_types::oci_index) + ", " + std::string(media_types::docker_list) + ", " +
           std::string(media_types::oci_manifest) + ", " + std::string(media_types::docker_manifest);
}

result<std::variant<image_index, image_manifest>> parse_manifest(std::string_view body, std::string_view content_type) {
    const std::string ct = base_media_type(content_type);
    if (one_of(ct, docker_schema1_types)) return bad(std::string(schema1_refusal));
    const bool specific = !ct.empty() && !one_of(ct, generic_types);
    if (specific && !is_known_manifest_type(ct)) return bad("manifest media type " + quote(ct) + " is not supported");

    boost::system::error_code ec;
    const json::value doc = json::parse(body, ec);
    if (ec) return bad("manifest is not JSON: " + ec.message());
    if (!doc.is_object()) return bad("manifest is not a JSON object");
    const json::object& o = doc.as_object();

    const auto body_type_or = optional_string(o, "mediaType", "manifest");
    if (!body_type_or) return body_type_or.error();
    const std::string& body_type = *body_type_or;
    if (one_of(body_type, docker_schema1_types)) return bad(std::string(schema1_refusal));
    const json::value* version = o.if_contains("schemaVersion");
    if (version == nullptr) return bad("manifest has no schemaVersion");
    if (version->is_int64() && version->as_int64() == 1) return bad(std::string(schema1_refusal));
    if (!version->is_int64() || version->as_int64() != 2) {
        std::string shown = json::serialize(*version);
        if (shown.size() > quoted_value_max) shown = shown.substr(0, quoted_value_max) + "...";
        return bad("manifest schemaVersion " + shown + " is not supported");
    }

    std::string kind;
    if (specific) {
        if (!body_type.empty() && body_type != ct) {
            return bad("manifest mediaType " + quote(body_type) + " contradicts Content-Type " + quote(ct));
        }
        kind = ct;
    } else if (!body_type.empty()) {
        if (!is_known_manifest_type(body_type)) return bad("manifest media type " + quote(body_type) + " is not supported");
        kind = body_type;
    } else if (o.contains("manifests")) {
        kind = media_types::oci_index;
    } else if (o.contains("config") && o.contains("layers")) {
        kind = media_types::oci_manifest;
    } else {
        return bad("manifest has no mediaType and neither \"manifests\" nor \"config\" and \"layers\"");
    }

    if (is_index_type(kind)) {
        auto index = parse_index(o, std::move(kind));
        if (!index) return index.error();
        return std::variant<image_index, image_manifest>(std::move(*index));
    }
    auto manifest = parse_image_manifest(o, std::move(kind));
    if (!manifest) return manifest.error();
    return std::variant<image_index, image_manifest>(std::move(*manifest));
}

result<image_config> parse_image_config(std::string_view body) {
    boost::system::error_code ec;
    const json::value doc = json::parse(body, ec);
    if (ec) return bad("image config is not JSON: " + ec.message());
    if (!doc.is_object()) return bad("image config is not a JSON object");
    const json::object& o = doc.as_object();
    image_config c;
    if (auto e = into(c.architecture, optional_string(o, "architecture", "image config"))) return *e;
    if (auto e = into(c.os, optional_string(o, "os", "image config"))) return *e;
    if (auto e = into(c.variant, optional_string(o, "variant", "image config"))) return *e;
    const json::value* inner = o.if_contains("config");
    if (inner == nullptr || inner->is_null()) return c;
    if (!inner->is_object()) return bad("image config \"config\" is not an object");
    if (auto e = into(c.env, string_list(inner->as_object(), "Env", "image config"))) return *e;
    if (auto e = into(c.labels, string_map(inner->as_object(), "Labels", "image config"))) return *e;
    return c;
}

result<descriptor> choose_platform(const image_index& index, std::string_view architecture, std::string_view variant,
                                   std::string_view os) {
    // arm64 "v8" is the only arm64 variant there is; images label it either way.
    const bool arm64 = architecture == "arm64";
    const auto normalized = [arm64](std::string_view v) { return arm64 && v == "v8" ? std::string_view() : v; };
    for (const descriptor& d : index.manifests) {
        if (!d.platform || d.platform->architecture != architecture || d.platform->os != os) continue;
        const bool variant_ok = arm64 ? normalized(d.platform->variant) == normalized(variant)
                                      : variant.empty() || d.platform->variant == variant;
        if (variant_ok) return d;
    }
    return bad("choosing image instance: no image found in image index for architecture " + quote(architecture) +
               ", variant " + quote(variant) + ", OS " + quote(os));
}

std::string runtime_architecture() {
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
#error "runtime_architecture: unknown target architecture"
#endif
}

}  // namespace cdi
