#pragma once
// What every OpenSSL wrapper in both binaries needs: the library's own words for its last failure,
// and RAII owners for the handles more than one wrapper holds.
#include <openssl/bio.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace cdi {

// Every error queued on this thread, oldest first, joined by "; "; "unknown OpenSSL error" if none.
// Leaves the queue empty, so a later call never reports this failure again.
std::string openssl_error_text();

struct bio_deleter {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_deleter {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
using unique_bio = std::unique_ptr<BIO, bio_deleter>;
using unique_x509 = std::unique_ptr<X509, x509_deleter>;

}  // namespace cdi
