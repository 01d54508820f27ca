#pragma once
// Errors on the data path: a std::error_code from cdi::errc plus one line of context, carried in
// cdi::result<T>. No exceptions on the data path; exceptions only at start-up (configuration).
//
// Each errc has a stable class token (E_...) from docs/security.md section 5.1; it is the
// first word of every user-visible message, so logs, HTTP bodies and termination messages can be
// grepped the same way.
#include <boost/system/result.hpp>

#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace cdi {

enum class errc {
    ok = 0,
    io,                    // E_IO: a system call on the target, scratch or a file failed
    no_space,              // E_NO_SPACE: the target or scratch is full (ENOSPC, EDQUOT, capacity)
    too_large,             // E_TOO_LARGE: the image is larger than the target can hold
    empty,                 // E_EMPTY: no data at all
    too_small,             // E_TOO_SMALL: fewer bytes than a disk image can have
    truncated,             // E_TRUNCATED: the stream ended before its own framing said it would
    decompress,            // E_DECOMPRESS: corrupt compressed data, trailing garbage, nesting too deep
    unsafe_image,          // E_UNSAFE_IMAGE: backing file, data file, json:, extent naming a file
    ambiguous_format,      // E_AMBIGUOUS_FORMAT: two formats match the same bytes
    corrupt_image,         // E_CORRUPT_IMAGE: a header that cannot be right (L1 size, offsets)
    bad_image,             // E_BAD_IMAGE: a format or variant we do not accept
    format_mismatch,       // E_FORMAT_MISMATCH: qemu-img disagrees with our inspector
    archive_unsafe_entry,  // E_ARCHIVE_UNSAFE_ENTRY
    convert_failed,        // E_CONVERT_FAILED: qemu-img failed or produced the wrong size
    timeout,               // E_TIMEOUT: no progress for too long
    canceled,              // E_CANCELED: SIGTERM, deadline or client gone
    checksum,              // E_CHECKSUM: checksum mismatch
    bad_request,           // E_BAD_REQUEST: invalid configuration or request
    source_http,           // E_SOURCE_HTTP
    source_unreachable,    // E_SOURCE_UNREACHABLE
    auth,                  // E_AUTH
    tls_verify,            // E_TLS_VERIFY
    tls_config,            // E_TLS_CONFIG
    digest_mismatch,       // E_DIGEST_MISMATCH
    scratch_required,      // E_SCRATCH_REQUIRED: a convertible image and no scratch space
    proxy,                 // E_PROXY: the proxy broke its protocol (bytes after its CONNECT answer, bad answer)
    unsupported_source,    // E_UNSUPPORTED_SOURCE: a CDI source this image does not import (imageio, vddk)
};

// The stable token for a class, e.g. "E_UNSAFE_IMAGE".
constexpr std::string_view class_token(errc e) noexcept {
    switch (e) {
    case errc::ok: return "OK";
    case errc::io: return "E_IO";
    case errc::no_space: return "E_NO_SPACE";
    case errc::too_large: return "E_TOO_LARGE";
    case errc::empty: return "E_EMPTY";
    case errc::too_small: return "E_TOO_SMALL";
    case errc::truncated: return "E_TRUNCATED";
    case errc::decompress: return "E_DECOMPRESS";
    case errc::unsafe_image: return "E_UNSAFE_IMAGE";
    case errc::ambiguous_format: return "E_AMBIGUOUS_FORMAT";
    case errc::corrupt_image: return "E_CORRUPT_IMAGE";
    case errc::bad_image: return "E_BAD_IMAGE";
    case errc::format_mismatch: return "E_FORMAT_MISMATCH";
    case errc::archive_unsafe_entry: return "E_ARCHIVE_UNSAFE_ENTRY";
    case errc::convert_failed: return "E_CONVERT_FAILED";
    case errc::timeout: return "E_TIMEOUT";
    case errc::canceled: return "E_CANCELED";
    case errc::checksum: return "E_CHECKSUM";
    case errc::bad_request: return "E_BAD_REQUEST";
    case errc::source_http: return "E_SOURCE_HTTP";
    case errc::source_unreachable: return "E_SOURCE_UNREACHABLE";
    case errc::auth: return "E_AUTH";
    case errc::tls_verify: return "E_TLS_VERIFY";
    case errc::tls_config: return "E_TLS_CONFIG";
    case errc::digest_mismatch: return "E_DIGEST_MISMATCH";
    case errc::scratch_required: return "E_SCRATCH_REQUIRED";
    case errc::proxy: return "E_PROXY";
    case errc::unsupported_source: return "E_UNSUPPORTED_SOURCE";
    }
    return "E_UNKNOWN";
}

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "cdi"; }
    std::string message(int ev) const override { return std::string(class_token(static_cast<errc>(ev))); }
};

inline const std::error_category& error_category() noexcept {
    static const error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// An error on the data path: what class of failure, and one line naming the cause.
// context is safe to show to the client (it names what was found, never secrets).
struct error {
    std::error_code code;
    std::string context;

    // "E_CLASS: context" for cdi codes; "<system message>: context" for others.
    std::string message() const {
        std::string head = code.category() == error_category()
                               ? std::string(class_token(static_cast<errc>(code.value())))
                               : code.message();
        if (context.empty()) return head;
        return head + ": " + context;
    }
    bool is(errc e) const noexcept { return code == make_error_code(e); }
};

inline error make_error(errc e, std::string context) { return error{make_error_code(e), std::move(context)}; }

// An errno from a failed system call: ENOSPC and EDQUOT become errc::no_space, everything else errc::io,
// and the context keeps strerror's text so the cause is visible.
inline error errno_error(int err, std::string_view what) {
    const bool full = err == ENOSPC || err == EDQUOT;
    return make_error(full ? errc::no_space : errc::io,
                      std::string(what) + ": " + std::generic_category().message(err));
}

template <class T>
using result = boost::system::result<T, error>;

// boost::system::result::value() on an error calls this (found by ADL); only start-up code calls value().
[[noreturn]] inline void throw_exception_from_error(const error& e, const boost::source_location&) {
    throw std::system_error(e.code, e.context);
}

}  // namespace cdi

template <>
struct std::is_error_code_enum<cdi::errc> : std::true_type {};
