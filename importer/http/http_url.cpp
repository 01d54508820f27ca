#include "importer/http/http_url.hpp"

#include "cdi/ascii.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/beast/core/detail/base64.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cdi {
namespace {

// The URL for an error context: userinfo removed, whatever else it holds.
std::string redacted(std::string_view text) {
    std::string s(text);
    auto scheme_end = s.find("://");
    auto start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    auto auth_end = s.find_first_of("/?#", start);
    auto at = s.rfind('@', auth_end == std::string::npos ? s.size() : auth_end);
    if (at != std::string::npos && at >= start) s.erase(start, at + 1 - start);
    return s;
}

// A registered name as DNS and the request line can carry it: letters, digits, '-', '.', '_'
// (Go and curl accept '_'), at most 253 characters. Checked after percent-decoding, where "%0d%0a"
// has become CR LF that would reach CONNECT's request line and the Host header.
bool is_host_name(std::string_view h) {
    return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_';
    });
}

}  // namespace

result<http_url> http_url::parse(std::string_view text) {
    auto parsed = boost::urls::parse_uri(text);
    // Never the text itself: a password holding '/', '?' or '#' makes any redaction guess wrong, so
    // the caller names where the URL came from (an environment variable, a redirect).
    if (!parsed) return make_error(errc::bad_request, "invalid URL: " + parsed.error().message());
    return from_view(*parsed);
}

result<http_url> http_url::from_view(boost::urls::url_view u) {
    const auto bad = [](const std::string& why) { return make_error(errc::bad_request, "invalid URL: " + why); };
    http_url out;
    const auto scheme = ascii::lower(u.scheme());
    if (scheme == "https") {
        out.tls_ = true;
    } else if (scheme != "http") {
        return bad("scheme must be http or https");
    }
    if (!u.has_authority() || u.encoded_host().empty()) return bad("no host");
    if (u.host_type() == boost::urls::host_type::ipv6) {
        out.host_ = u.host_ipv6_address().to_string();
    } else if (u.host_type() == boost::urls::host_type::ipvfuture) {
        return bad("unsupported host");
    } else {
        out.host_ = ascii::lower(u.host());  // decoded
        if (u.host_type() == boost::urls::host_type::name && !is_host_name(out.host_)) return bad("invalid host name");
    }
    if (u.has_port()) {
        auto p = u.port();
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535) return bad("invalid port");
        out.port_ = static_cast<std::uint16_t>(v);
    } else {
        out.port_ = out.tls_ ? 443 : 80;
    }
    out.target_ = std::string(u.encoded_path());
    // After an authority the path is empty or begins with '/' (RFC 3986 path-abempty). Boost.URL 1.81
    // takes "https://h:8443x/y" as port 8443 and path "x/y" (fuzz/http_url): Go and curl refuse the
    // port, and "x/y" is no request target; "https://h:1@evil/" would print as another URL.
    if (!out.target_.empty() && out.target_.front() != '/') return bad("invalid port");
    if (out.target_.empty()) out.target_ = "/";
    if (u.has_query()) out.target_ += "?" + std::string(u.encoded_query());
    if (u.has_userinfo()) {
        out.userinfo_ = basic_credentials{std::string(u.user()), std::string(u.password())};
    }
    return out;
}

result<http_url> http_url::resolve(std::string_view location) const {
    auto ref = boost::urls::parse_uri_reference(location);
    // A Location with an authority whose path does not begin with '/' (see from_view): resolve()
    // would add the '/' and follow "//h:8080x/" to h:8080/x/.
    const bool bad_path = ref && ref->has_authority() && !ref->encoded_path().empty() && ref->encoded_path().front() != '/';
    if (!ref || bad_path) return make_error(errc::source_http, "invalid redirect Location \"" + redacted(location) + "\"");
    auto base_text = to_string();
    boost::urls::url base(base_text);
    boost::urls::url dest;
    if (auto r = boost::urls::resolve(base, *ref, dest); r.has_error())
        return make_error(errc::source_http, "cannot resolve redirect Location \"" + redacted(location) + "\"");
    dest.remove_fragment();
    auto next = from_view(dest);
    if (!next)
        return make_error(errc::source_http, "redirect to an unusable URL \"" + redacted(location) + "\": " + next.error().context);
    return next;
}

std::string http_url::host_header() const {
    const auto a = authority();
    return port_ == (tls_ ? 443 : 80) ? a.substr(0, a.rfind(':')) : a;
}

std::string http_url::authority() const {
    const bool v6 = host_.find(':') != std::string::npos;
    return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

std::string http_url::origin() const { return std::string(tls_ ? "https" : "http") + "://" + authority(); }

bool http_url::same_origin(const http_url& other) const noexcept {
    return tls_ == other.tls_ && port_ == other.port_ && host_ == other.host_;
}

std::string http_url::to_string() const { return origin() + target_; }

std::string percent_encode(std::string_view s, std::string_view also_keep) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                                c == '.' || c == '_' || c == '~';
        if (unreserved || (c != 0 && also_keep.find(static_cast<char>(c)) != std::string_view::npos)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

std::string basic_authorization(const basic_credentials& c) {
    const std::string plain = c.user + ":" + c.password;
    std::string out(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

}  // namespace cdi
