#pragma once
// An incremental message digest (md5, sha1, sha256, sha512) over OpenSSL 3's EVP interface.
// Owns its EVP_MD_CTX; move-only. OpenSSL failures (e.g. md5 refused by a FIPS provider) become
// errc::checksum with OpenSSL's own text in the context.
#include "cdi/error.hpp"
#include "importer/stages/checksum.hpp"

#include <cstddef>
#include <memory>
#include <span>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace cdi {

class hasher {
public:
    static result<hasher> create(checksum_algorithm algorithm);

    result<void> update(std::span<const std::byte> data);
    // The digest of everything passed to update(), as lower-case hex. Ends the hasher: a second
    // call, or update() afterwards, is an error.
    result<std::string> finish_hex();

    checksum_algorithm algorithm() const noexcept { return algorithm_; }

private:
    struct ctx_deleter {
        void operator()(evp_md_ctx_st* ctx) const noexcept;
    };

    hasher(checksum_algorithm algorithm, std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx) noexcept
        : algorithm_(algorithm), ctx_(std::move(ctx)) {}

    checksum_algorithm algorithm_;
    std::unique_ptr<evp_md_ctx_st, ctx_deleter> ctx_;
    bool finished_ = false;
};

}  // namespace cdi
