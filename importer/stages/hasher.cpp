#include "importer/stages/hasher.hpp"
#include "importer/pod/openssl_util.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>

namespace cdi {
namespace {


const EVP_MD* evp_md(checksum_algorithm a) noexcept {
    switch (a) {
    case checksum_algorithm::md5: return EVP_md5();
    case checksum_algorithm::sha1: return EVP_sha1();
    case checksum_algorithm::sha256: return EVP_sha256();
    case checksum_algorithm::sha512: return EVP_sha512();
    }
    return nullptr;
}

}  // namespace

void hasher::ctx_deleter::operator()(evp_md_ctx_st* ctx) const noexcept { EVP_MD_CTX_free(ctx); }

result<hasher> hasher::create(checksum_algorithm algorithm) {
    std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx(EVP_MD_CTX_new());
    if (!ctx) return make_error(errc::checksum, "EVP_MD_CTX_new: " + openssl_error_text());
    const EVP_MD* md = evp_md(algorithm);
    if (md == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
        return make_error(errc::checksum, std::string(checksum_algorithm_name(algorithm)) +
                                              " digest unavailable: " + openssl_error_text());
    return hasher(algorithm, std::move(ctx));
}

result<void> hasher::update(std::span<const std::byte> data) {
    if (finished_) return make_error(errc::checksum, "digest updated after it was finished");
    if (data.empty()) return {};
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1)
        return make_error(errc::checksum, "EVP_DigestUpdate: " + openssl_error_text());
    return {};
}

result<std::string> hasher::finish_hex() {
    if (finished_) return make_error(errc::checksum, "digest finished twice");
    finished_ = true;
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md.data(), &len) != 1)
        return make_error(errc::checksum, "EVP_DigestFinal_ex: " + openssl_error_text());
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        hex.push_back(digits[md[i] >> 4]);
        hex.push_back(digits[md[i] & 0x0f]);
    }
    return hex;
}

}  // namespace cdi
