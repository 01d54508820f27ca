#include "server/client_auth.hpp"

#include "importer/pod/openssl_util.hpp"

#include <openssl/x509.h>

namespace cdi {

std::string peer_common_name(const SSL* ssl) {
    unique_x509 cert(SSL_get1_peer_certificate(ssl));
    if (!cert) return {};
    const X509_NAME* subject = X509_get_subject_name(cert.get());
    // Exactly one CN: a subject with two CNs is ambiguous and matches nothing.
    const int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, idx) >= 0) return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) return {};
    std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    if (cn.find('\0') != std::string::npos) return {};
    return cn;
}

bool client_authorized(const SSL* ssl, const std::string& client_name) {
    if (ssl == nullptr || client_name.empty()) return false;
    if (SSL_get_verify_result(ssl) != X509_V_OK) return false;
    const std::string cn = peer_common_name(ssl);
    return !cn.empty() && cn == client_name;
}

}  // namespace cdi
