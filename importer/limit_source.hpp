#pragma once
// Bounds the number of bytes a stream may deliver: the decompression-bomb and oversized-image guard
// (security.md 2.6: count decompressed logical bytes and stop as soon as they exceed the target).
//
// Contract: exactly `max` bytes pass; the read that would bring the total past `max` fails with
// errc::too_large ("image is larger than the target capacity of N bytes") and none of its bytes are
// returned, so nothing beyond `max` ever reaches the consumer. After that error the source is
// unusable (source.hpp). size_hint() passes through.
// Ownership: owns upstream.
#include "cdi/source.hpp"

namespace cdi {

class limit_source final : public source {
public:
    limit_source(source_ptr upstream, std::uint64_t max) noexcept : upstream_(std::move(upstream)), max_(max) {}

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return upstream_->size_hint(); }

    // Bytes delivered so far.
    std::uint64_t count() const noexcept { return count_; }

private:
    source_ptr upstream_;
    std::uint64_t max_;
    std::uint64_t count_ = 0;
};

}  // namespace cdi
