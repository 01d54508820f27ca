#include "importer/cloud/sigv4.hpp"

#include "cdi/ascii.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace cdi {
namespace {

using digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

std::string hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 0xf];
    }
    return out;
}

digest hmac(std::string_view key, std::string_view data) {
    digest out{};
    unsigned len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out.data(), &len);
    return out;
}

std::string_view view(const digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

// A header value as the canonical form wants it: trimmed, each inner run of blanks folded to one space.
std::string canonical_value(std::string_view v) {
    v = ascii::trim(v, ascii::ows);
    std::string out;
    bool blank = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            blank = true;
            continue;
        }
        if (blank) out += ' ';
        blank = false;
        out += c;
    }
    return out;
}

// Lower-case names with their canonical values, sorted by name; a repeated name's values are joined by ','.
std::vector<std::pair<std::string, std::string>> canonical_headers(const sigv4_request& r) {
    std::vector<std::pair<std::string, std::string>> h;
    for (const auto& [name, value] : r.headers) h.emplace_back(ascii::lower(name), canonical_value(value));
    std::stable_sort(h.begin(), h.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::string, std::string>> merged;
    for (auto& e : h) {
        if (!merged.empty() && merged.back().first == e.first) merged.back().second += "," + e.second;
        else merged.push_back(std::move(e));
    }
    return merged;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    digest d{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
    return hex(d.data(), d.size());
}

std::string amz_date(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string signed_headers(const sigv4_request& r) {
    std::string out;
    for (const auto& [name, value] : canonical_headers(r)) out += (out.empty() ? "" : ";") + name;
    return out;
}

std::string canonical_request(const sigv4_request& r) {
    std::string out = r.method + "\n" + r.canonical_uri + "\n" + r.canonical_query + "\n";
    for (const auto& [name, value] : canonical_headers(r)) out += name + ":" + value + "\n";
    return out + "\n" + signed_headers(r) + "\n" + r.payload_hash;
}

std::string string_to_sign(const std::string& canonical, std::string_view amz_date, std::string_view region, std::string_view service) {
    const std::string scope = std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
    return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + sha256_hex(canonical);
}

std::string sigv4_authorization(const sigv4_request& r, const sigv4_credentials& c, std::string_view amz_date,
                                std::string_view region, std::string_view service) {
    const std::string date(amz_date.substr(0, 8));
    const auto k_date = hmac("AWS4" + c.secret_access_key, date);
    const auto k_region = hmac(view(k_date), region);
    const auto k_service = hmac(view(k_region), service);
    const auto k_signing = hmac(view(k_service), "aws4_request");
    const auto sig = hmac(view(k_signing), string_to_sign(canonical_request(r), amz_date, region, service));
    return "AWS4-HMAC-SHA256 Credential=" + c.access_key_id + "/" + date + "/" + std::string(region) + "/" + std::string(service) +
           "/aws4_request, SignedHeaders=" + signed_headers(r) + ", Signature=" + hex(sig.data(), sig.size());
}

}  // namespace cdi
