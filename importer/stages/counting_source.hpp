#pragma once
// Counts the bytes that pass through it into a cdi::progress (progress::add_wire_bytes), for the
// transfer percentage against the origin's total. Place it directly above the origin, below any
// decompressor, so it counts wire bytes. Errors and size_hint() pass through unchanged.
// Ownership: owns upstream; borrows the progress, which must outlive it.
#include "cdi/progress.hpp"
#include "cdi/source.hpp"

namespace cdi {

class counting_source final : public source {
public:
    counting_source(source_ptr upstream, progress& p) noexcept : upstream_(std::move(upstream)), progress_(p) {}

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return upstream_->size_hint(); }
    void interrupt() noexcept override { upstream_->interrupt(); }

    // Bytes delivered so far by this source.
    std::uint64_t count() const noexcept { return count_; }

private:
    source_ptr upstream_;
    progress& progress_;
    std::uint64_t count_ = 0;
};

}  // namespace cdi
