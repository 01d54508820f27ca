#include "importer/pod/openssl_util.hpp"

#include <openssl/err.h>

#include <array>

namespace cdi {

// The whole queue, not only its oldest entry: the oldest names the cause ("system library::No such
// file or directory"), the later ones say which step failed on it ("BIO routines::no such file",
// "SSL routines::system lib"); one alone leaves the reader guessing the other. Popping every entry
// empties the queue (OpenSSL keeps at most 16, so the text stays bounded).
std::string openssl_error_text() {
    std::string out;
    while (const unsigned long code = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(code, buf.data(), buf.size());
        if (!out.empty()) out += "; ";
        out += buf.data();
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

}  // namespace cdi
