#pragma once
// Verifies the expected checksum over the raw bytes as received (contract section 4): hashes every
// byte it passes through and, when upstream reports the clean end, compares the digest. A mismatch
// is returned by that final read as
//   errc::checksum "checksum validation failed: checksum mismatch: expected <alg>:<exp>, calculated <alg>:<got>"
// so the consumer's transfer fails before anything is reported complete; a match returns 0 as usual.
// Place it directly above the origin (below any decompressor).
//
// Consumers that stop before the end (a tar reader skipping trailing padding, a format reader that
// has what it needs) must call drain_and_verify() afterwards, or the checksum is never checked.
//
// The digest is computed on a thread of its own (background_hasher), beside the consumer's.
// Errors from upstream pass through unchanged; after any error the source stays failed (the same
// error is returned again). Ownership: owns upstream. Thread-safety: none (one caller thread).
#include "cdi/source.hpp"
#include "importer/stages/checksum.hpp"
#include "importer/stages/background_hasher.hpp"

#include <cstdint>
#include <memory>
#include <optional>

namespace cdi {

class checksum_source final : public source {
public:
    // Fails only when OpenSSL cannot provide the algorithm. With a blob name (a registry blob, "layer
    // sha256:… of host/repo"), a mismatch is instead errc::digest_mismatch "<blob> does not match its
    // digest: calculated <alg>:<got>": content-addressed data that is wrong is a failed pull (exit 1),
    // not the checksum outcome CDI's controller stops retrying on.
    static result<std::unique_ptr<checksum_source>> create(source_ptr upstream, checksum_spec expected,
                                                           std::string blob = {});

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return upstream_->size_hint(); }
    void interrupt() noexcept override { upstream_->interrupt(); }

    // Reads the rest of the stream (64 KiB buffer, discarded) to its clean end and verifies; returns
    // at once if already verified. The error is the mismatch, or upstream's.
    result<void> drain_and_verify();

    // True once the end was reached and the digest matched.
    bool verified() const noexcept { return state_ == state::verified; }
    // Bytes passed through (and hashed) so far, drained bytes included.
    std::uint64_t bytes() const noexcept { return bytes_; }
    const checksum_spec& expected() const noexcept { return expected_; }

private:
    enum class state { reading, verified, failed };

    checksum_source(source_ptr upstream, checksum_spec expected, background_hasher h, std::string blob) noexcept
        : upstream_(std::move(upstream)), expected_(std::move(expected)), hasher_(std::move(h)), blob_(std::move(blob)) {}

    result<std::size_t> fail(error e);
    result<std::size_t> finish();

    source_ptr upstream_;
    checksum_spec expected_;
    background_hasher hasher_;  // digests on its own thread (background_hasher.hpp)
    std::string blob_;
    std::uint64_t bytes_ = 0;
    state state_ = state::reading;
    std::optional<error> error_;
};

}  // namespace cdi
