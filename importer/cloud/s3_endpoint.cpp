#include "importer/cloud/s3_endpoint.hpp"

#include "cdi/ascii.hpp"
#include "importer/http/http_url.hpp"

#include <boost/url/parse.hpp>

#include <regex>

namespace cdi {

std::string s3_region(std::string_view host_port) {
    // CDI: regexp `s3\.(.+)\.amazonaws\.com` anywhere in the host, greedy, else the text before the first '.'.
    static const std::regex aws(R"(s3\.(.+)\.amazonaws\.com)");
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(host_port.begin(), host_port.end(), m, aws)) return m[1].str();
    return std::string(host_port.substr(0, host_port.find('.')));
}

result<s3_location> parse_s3_endpoint(std::string_view endpoint) {
    // http_url checks what a connection needs (scheme, host, port); the text is never echoed.
    auto checked = http_url::parse(endpoint);
    if (!checked) return make_error(errc::bad_request, "unable to parse endpoint IMPORTER_ENDPOINT: " + checked.error().context);
    auto u = boost::urls::parse_uri(endpoint);  // parses: http_url accepted it
    s3_location l;
    // CDI: strings.Trim(URL.Path, "/"), then the first segment is the bucket and the rest the key.
    std::string path = u->path();  // decoded
    const auto first = path.find_first_not_of('/');
    path = first == std::string::npos ? std::string() : path.substr(first, path.find_last_not_of('/') - first + 1);
    const auto slash = path.find('/');
    l.bucket = path.substr(0, slash);
    l.key = slash == std::string::npos ? std::string() : path.substr(slash + 1);
    if (l.bucket.empty() || l.key.empty())
        return make_error(errc::bad_request, "could not get s3 object: \"" + s3_object_name(l) + "\": the endpoint's path names no " +
                                                 (l.bucket.empty() ? "bucket" : "object"));
    std::string host_port(u->encoded_host_and_port());
    l.region = s3_region(ascii::lower(host_port));
    l.url = ascii::lower(u->scheme()) + "://" + host_port + "/" + percent_encode(l.bucket) + "/" + percent_encode(l.key, "/");
    return l;
}

}  // namespace cdi
