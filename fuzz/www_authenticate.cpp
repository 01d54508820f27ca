// The WWW-Authenticate header of a registry's 401 (importer/http/www_authenticate): challenges,
// auth-params, quoted strings with escapes, token68.
#include "fuzz/fuzz_support.hpp"
#include "importer/http/www_authenticate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace cdi;
    for (const auto& c : parse_www_authenticate(fuzz::text_of(data, size))) {
        fuzz::check(!c.scheme.empty(), "a challenge without a scheme");
        for (const char ch : c.scheme) fuzz::check(ch < 'A' || ch > 'Z', "a scheme not lower-cased");
        for (const auto& [k, v] : c.params)
            for (const char ch : k) fuzz::check(ch < 'A' || ch > 'Z', "a parameter name not lower-cased");
    }
    return 0;
}
