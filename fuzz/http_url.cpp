// URLs and redirects (importer/http/http_url): the endpoint the importer is given and every Location
// a server answers with. The input is: the URL, a NUL, the Location. Invariants: a parsed URL prints to
// a string that parses back to the same origin and target; a redirect resolves to an http(s) URL.
#include "fuzz/fuzz_support.hpp"
#include "importer/http/http_url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    const std::string_view in = fuzz::text_of(data, size);
    const auto nul = in.find('\0');
    const std::string_view text = in.substr(0, nul);
    const std::string_view location = nul == std::string_view::npos ? std::string_view{} : in.substr(nul + 1);

    auto u = http_url::parse(text);
    if (!u) return 0;
    fuzz::check(!u->target().empty(), "an empty request target");
    fuzz::check(!u->host().empty(), "an empty host");
    const std::string printed = u->to_string();
    auto again = http_url::parse(printed);
    fuzz::check(bool(again), "to_string() does not parse back: " + printed);
    fuzz::check(again->same_origin(*u) && again->target() == u->target(), "to_string() parses back to another URL");
    (void)u->authority();
    (void)u->origin();
    if (u->userinfo()) (void)basic_authorization(*u->userinfo());
    if (auto r = u->resolve(location)) {
        fuzz::check(!r->host().empty() && !r->target().empty(), "a redirect to a URL without host or target");
        (void)r->same_origin(*u);
    }
    (void)percent_encode(location);
    return 0;
}
