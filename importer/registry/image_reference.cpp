#include "importer/registry/image_reference.hpp"

#include <algorithm>

namespace cdi {
namespace {

constexpr std::string_view default_domain = "docker.io";
constexpr std::string_view legacy_default_domain = "index.docker.io";
constexpr std::string_view official_repo_prefix = "library/";
constexpr std::string_view docker_hub_api_host = "registry-1.docker.io";
// docker/distribution's NameTotalLengthMax: domain + "/" + path.
constexpr std::size_t name_total_length_max = 255;
// Error contexts quote the endpoint; longer inputs are cut so the line stays readable.
constexpr std::size_t quoted_input_max = 512;

bool is_lower_alnum(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) noexcept { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) noexcept { return is_alnum(c) || c == '_'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_lower_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) noexcept { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

// The input as one printable line: control characters become '?', long inputs are cut.
std::string printable(std::string_view s) {
    std::string out(s.substr(0, quoted_input_max));
    std::replace_if(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    if (s.size() > quoted_input_max) out += "...";
    return out;
}

error invalid(std::string_view endpoint, std::string_view reason) {
    return make_error(errc::bad_request,
                      "Invalid image name \"" + printable(endpoint) + "\": " + std::string(reason));
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator := [_.] | __ | [-]*
bool valid_path_component(std::string_view s) noexcept {
    if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
    std::size_t i = 0;
    while (i < s.size()) {
        if (is_lower_alnum(s[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < s.size() && !is_lower_alnum(s[j])) ++j;
        const std::string_view sep = s.substr(i, j - i);
        if (sep != "." && sep != "_" && sep != "__" && sep.find_first_not_of('-') != std::string_view::npos) return false;
        i = j;
    }
    return true;
}

bool valid_path(std::string_view path) noexcept {
    for (;;) {
        const auto slash = path.find('/');
        if (!valid_path_component(path.substr(0, slash))) return false;
        if (slash == std::string_view::npos) return true;
        path.remove_prefix(slash + 1);
    }
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_name(std::string_view s) noexcept {
    for (;;) {
        const auto dot = s.find('.');
        const std::string_view c = s.substr(0, dot);
        if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
        if (!std::all_of(c.begin(), c.end(), [](char ch) { return is_alnum(ch) || ch == '-'; })) return false;
        if (dot == std::string_view::npos) return true;
        s.remove_prefix(dot + 1);
    }
}

// domain := (domain-name | "[" ipv6 "]") [":" port]
bool valid_domain(std::string_view s) noexcept {
    std::string_view host = s;
    std::string_view port;
    bool has_port = false;
    const bool bracketed = !s.empty() && s.front() == '[';
    if (bracketed) {
        const auto close = s.find(']');
        if (close == std::string_view::npos || close == 1) return false;
        const std::string_view inner = s.substr(1, close - 1);
        if (!std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; })) return false;
        const std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            has_port = true;
            port = rest.substr(1);
        }
    } else if (const auto colon = s.find(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        has_port = true;
        port = s.substr(colon + 1);
    }
    if (has_port && (port.empty() || !std::all_of(port.begin(), port.end(), is_digit))) return false;
    return bracketed || valid_domain_name(host);
}

bool valid_tag(std::string_view s) noexcept {
    return !s.empty() && s.size() <= 128 && is_word(s.front()) &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

// containers/image's oci/internal refRegexp, for the optional image name of an oci-archive reference.
bool valid_oci_image_name(std::string_view s) noexcept {
    for (;;) {
        const auto slash = s.find('/');
        const std::string_view c = s.substr(0, slash);
        if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
        for (std::size_t i = 0; i < c.size();) {
            if (is_alnum(c[i])) {
                ++i;
                continue;
            }
            if (c.substr(i, 2) == "--") {
                i += 2;
            } else if (std::string_view("-._:@+").find(c[i]) != std::string_view::npos) {
                ++i;
            } else {
                return false;
            }
            if (i >= c.size() || !is_alnum(c[i])) return false;
        }
        if (slash == std::string_view::npos) return true;
        s.remove_prefix(slash + 1);
    }
}

result<image_reference> parse_docker(std::string_view endpoint, std::string_view rest) {
    if (rest.substr(0, 2) != "//") {
        return invalid(endpoint, "docker reference \"" + printable(rest) + "\" does not start with //");
    }
    const std::string_view ref = rest.substr(2);
    if (ref.empty()) return invalid(endpoint, "invalid reference format: empty reference");
    if (ref.size() == 64 && std::all_of(ref.begin(), ref.end(), is_lower_hex)) {
        return invalid(endpoint, "cannot specify 64-byte hexadecimal strings as a repository name");
    }

    // splitDockerDomain: the first component is a domain when it looks like one.
    image_reference r;
    std::string remainder;
    const auto slash = ref.find('/');
    const std::string_view first = ref.substr(0, slash);
    if (slash == std::string_view::npos ||
        (first.find_first_of(".:") == std::string_view::npos && first != "localhost")) {
        r.registry = default_domain;
        remainder = ref;
    } else {
        r.registry = first;
        remainder = ref.substr(slash + 1);
    }
    if (r.registry == legacy_default_domain) r.registry = default_domain;
    if (r.registry == default_domain && remainder.find('/') == std::string::npos) {
        remainder.insert(0, official_repo_prefix);
    }

    const std::string_view rem = remainder;
    const auto name_end = std::min(rem.find(':'), rem.find('@'));
    const std::string_view path = rem.substr(0, name_end);
    if (std::any_of(path.begin(), path.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        return invalid(endpoint, "repository name \"" + printable(path) + "\" must be lowercase");
    }
    if (!valid_domain(r.registry)) {
        return invalid(endpoint, "invalid reference format: registry \"" + printable(r.registry) + "\"");
    }
    if (!valid_path(path)) {
        return invalid(endpoint, "invalid reference format: repository \"" + printable(path) + "\"");
    }
    if (r.registry.size() + 1 + path.size() > name_total_length_max) {
        return invalid(endpoint, "repository name must not be more than 255 characters");
    }
    r.repository = path;

    std::string_view suffix = rem.substr(std::min(name_end, rem.size()));
    if (!suffix.empty() && suffix.front() == ':') {
        const auto at = suffix.find('@');
        const std::string_view tag = suffix.substr(1, at == std::string_view::npos ? std::string_view::npos : at - 1);
        if (!valid_tag(tag)) return invalid(endpoint, "invalid reference format: tag \"" + printable(tag) + "\"");
        r.tag = tag;
        suffix = at == std::string_view::npos ? std::string_view{} : suffix.substr(at);
    }
    if (!suffix.empty()) {  // starts with '@'
        const std::string_view digest = suffix.substr(1);
        if (!is_valid_digest(digest)) {
            return invalid(endpoint, "invalid reference format: digest \"" + printable(digest) + "\"");
        }
        r.digest = digest;
    }
    if (!r.tag.empty() && !r.digest.empty()) {
        return invalid(endpoint, "Docker references with both a tag and digest are currently not supported");
    }
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

result<image_reference> parse_oci_archive(std::string_view endpoint, std::string_view rest) {
    const auto colon = rest.find(':');
    const std::string_view path = rest.substr(0, colon);
    const std::string_view image = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (path.empty()) return invalid(endpoint, "oci-archive path is empty");
    if (path.front() != '/') return invalid(endpoint, "oci-archive path \"" + printable(path) + "\" is not absolute");
    if (!image.empty() && !valid_oci_image_name(image)) {
        return invalid(endpoint, "invalid oci-archive image name \"" + printable(image) + "\"");
    }
    image_reference r;
    r.kind = image_reference::transport::oci_archive;
    r.archive = std::filesystem::path(path);
    r.archive_image = image;
    return r;
}

}  // namespace

bool is_valid_digest(std::string_view digest) noexcept {
    std::string_view hex;
    std::size_t want = 0;
    if (digest.substr(0, 7) == "sha256:") {
        hex = digest.substr(7);
        want = 64;
    } else if (digest.substr(0, 7) == "sha512:") {
        hex = digest.substr(7);
        want = 128;
    } else {
        return false;
    }
    return hex.size() == want && std::all_of(hex.begin(), hex.end(), is_lower_hex);
}

std::string image_reference::api_host() const {
    return registry == default_domain ? std::string(docker_hub_api_host) : registry;
}

std::string image_reference::to_string() const {
    if (kind == transport::oci_archive) {
        std::string s = "oci-archive:" + archive.string();
        if (!archive_image.empty()) s += ":" + archive_image;
        return s;
    }
    return registry + "/" + repository + (digest.empty() ? ":" + tag : "@" + digest);
}

std::string image_reference::manifest_reference() const { return digest.empty() ? tag : digest; }

// A docker reference holds at most one '@', before a digest ("algorithm:hex", no '/'). Two, or one
// followed by a '/' or by text without ':', is what "user:password@host/..." leaves (whatever the
// password holds): such an input is never quoted (issue 12.5). A malformed digest still is.
bool has_credentials_like_at(std::string_view ref) {
    const auto at = ref.find('@');
    if (at == std::string_view::npos) return false;
    const auto rest = ref.substr(at + 1);
    return rest.find('@') != std::string_view::npos || rest.find('/') != std::string_view::npos ||
           (!rest.empty() && rest.find(':') == std::string_view::npos);
}

result<image_reference> image_reference::parse(std::string_view endpoint) {
    const auto colon = endpoint.find(':');
    if (colon == std::string_view::npos) {
        return make_error(errc::bad_request, "Invalid image name \"" + printable(endpoint) +
                                                 "\", expected colon-separated transport:reference");
    }
    const std::string_view transport_name = endpoint.substr(0, colon);
    const std::string_view rest = endpoint.substr(colon + 1);
    if (transport_name == "docker" && has_credentials_like_at(rest)) {
        return make_error(errc::bad_request, "Invalid image name in IMPORTER_ENDPOINT (not quoted): an '@' outside a digest, "
                                             "as credentials in the reference would leave; credentials go in the secret");
    }
    if (transport_name == "docker") {
        auto r = parse_docker(endpoint, rest);
        // With an '@' in it, any part of the input may be a password ("user:pw@host:5000" reads as a
        // tag "pw" and a digest "host:5000"): the error keeps its class, the input is not quoted.
        if (!r && rest.find('@') != std::string_view::npos) {
            return error{r.error().code, "Invalid image name in IMPORTER_ENDPOINT (not quoted: it holds an '@'): invalid "
                                        "reference format; a digest is algorithm:hex, credentials go in the secret"};
        }
        return r;
    }
    if (transport_name == "oci-archive") return parse_oci_archive(endpoint, rest);
    return make_error(errc::bad_request, "Invalid image name \"" + printable(endpoint) + "\", unknown transport \"" +
                                             printable(transport_name) + "\"");
}

}  // namespace cdi
