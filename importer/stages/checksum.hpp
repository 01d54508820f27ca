#pragma once
// The expected checksum of an HTTP import (IMPORTER_CHECKSUM, contract section 4), parsed with
// CDI's rules (pkg/util/checksum ParseAndValidate): "algorithm:hash", split at the first ':', both
// parts trimmed of whitespace and lower-cased; md5 (32 hex), sha1 (40), sha256 (64), sha512 (128).
// Checks run in CDI's order (empty hash, algorithm, length, hex) so the first reason matches CDI's.
// Errors: errc::bad_request, context "invalid checksum: <CDI's reason>".
#include "cdi/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cdi {

enum class checksum_algorithm { md5, sha1, sha256, sha512 };

// "md5", "sha1", "sha256", "sha512".
std::string_view checksum_algorithm_name(checksum_algorithm a) noexcept;
// Digest length in hex characters (2 per byte).
std::size_t checksum_hex_length(checksum_algorithm a) noexcept;

struct checksum_spec {
    checksum_algorithm algorithm = checksum_algorithm::sha256;
    std::string hex;  // lower case, exactly checksum_hex_length(algorithm) characters

    // An empty string means "no validation" (nullopt).
    static result<std::optional<checksum_spec>> parse(std::string_view text);

    // "sha256:<hex>".
    std::string to_string() const;

    bool operator==(const checksum_spec&) const = default;
};

}  // namespace cdi
