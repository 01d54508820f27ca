#include "importer/http/proxy_selector.hpp"

#include "cdi/ascii.hpp"

#include <algorithm>

namespace cdi {
namespace {

result<std::optional<http_url>> parse_proxy(const std::string& text, const char* name) {
    if (text.empty()) return std::optional<http_url>{};
    std::string full = text.find("://") == std::string::npos ? "http://" + text : text;
    if (full.rfind("http://", 0) != 0 && full.rfind("HTTP://", 0) != 0)
        return make_error(errc::bad_request, std::string(name) + ": only http:// proxies are supported");
    auto u = http_url::parse(full);
    if (!u) return make_error(errc::bad_request, std::string(name) + ": " + u.error().context);
    return std::optional<http_url>(std::move(*u));
}

bool in_cidr(const boost::asio::ip::address& a, const boost::asio::ip::address& net, unsigned prefix) {
    if (a.is_v4() != net.is_v4()) return false;
    auto cmp = [prefix](const auto& x, const auto& y) {
        for (unsigned bit = 0; bit < prefix && bit < x.size() * 8; ++bit) {
            const unsigned mask = 0x80u >> (bit % 8);
            if ((x[bit / 8] & mask) != (y[bit / 8] & mask)) return false;
        }
        return true;
    };
    return a.is_v4() ? cmp(a.to_v4().to_bytes(), net.to_v4().to_bytes()) : cmp(a.to_v6().to_bytes(), net.to_v6().to_bytes());
}

}  // namespace

result<proxy_selector> proxy_selector::create(const proxy_settings& settings) {
    proxy_selector out;
    auto h = parse_proxy(settings.http_proxy, "http_proxy");
    if (!h) return h.error();
    out.http_ = std::move(*h);
    auto hs = parse_proxy(settings.https_proxy, "https_proxy");
    if (!hs) return hs.error();
    out.https_ = std::move(*hs);

    std::string_view rest = settings.no_proxy;
    while (!rest.empty()) {
        auto comma = rest.find(',');
        auto entry = ascii::trim_lower(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (entry.empty()) continue;
        no_proxy_rule r;
        if (entry == "*") {
            r.type = no_proxy_rule::kind::any;
            out.rules_.push_back(r);
            continue;
        }
        boost::system::error_code ec;
        if (auto slash = entry.find('/'); slash != std::string::npos) {
            r.ip = boost::asio::ip::make_address(entry.substr(0, slash), ec);
            if (ec) continue;  // Go ignores what it cannot parse
            r.type = no_proxy_rule::kind::cidr;
            r.prefix = static_cast<unsigned>(std::atoi(entry.c_str() + slash + 1));
            out.rules_.push_back(r);
            continue;
        }
        std::string host = entry;
        if (entry.front() == '[') {  // [v6]:port
            auto close = entry.find(']');
            if (close == std::string::npos) continue;
            host = entry.substr(1, close - 1);
            if (close + 1 < entry.size() && entry[close + 1] == ':') r.port = entry.substr(close + 2);
        } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
            auto colon = entry.find(':');
            host = entry.substr(0, colon);
            r.port = entry.substr(colon + 1);
        }
        r.ip = boost::asio::ip::make_address(host, ec);
        if (!ec) {
            r.type = no_proxy_rule::kind::ip;
        } else {
            r.type = no_proxy_rule::kind::domain;
            if (host.rfind("*.", 0) == 0) host.erase(0, 1);
            if (host.empty()) continue;
            if (host.front() != '.') {
                r.match_host = true;
                host.insert(0, ".");
            }
            r.host = host;
        }
        out.rules_.push_back(r);
    }
    return out;
}

bool proxy_selector::bypass(const http_url& origin) const {
    const std::string port = std::to_string(origin.port());
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(origin.host(), ec);
    const bool is_ip = !ec;
    for (const auto& r : rules_) {
        switch (r.type) {
        case no_proxy_rule::kind::any: return true;
        case no_proxy_rule::kind::cidr:
            if (is_ip && in_cidr(ip, r.ip, r.prefix)) return true;
            break;
        case no_proxy_rule::kind::ip:
            if (is_ip && ip == r.ip && (r.port.empty() || r.port == port)) return true;
            break;
        case no_proxy_rule::kind::domain: {
            const auto& h = origin.host();
            const bool suffix = h.size() >= r.host.size() && h.compare(h.size() - r.host.size(), r.host.size(), r.host) == 0;
            if ((suffix || (r.match_host && h == r.host.substr(1))) && (r.port.empty() || r.port == port)) return true;
            break;
        }
        }
    }
    return false;
}

std::optional<http_url> proxy_selector::proxy_for(const http_url& origin) const {
    const auto& proxy = origin.tls() ? https_ : http_;
    if (!proxy || bypass(origin)) return std::nullopt;
    return proxy;
}

}  // namespace cdi
