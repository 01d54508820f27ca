#pragma once
// An origin over bytes held in memory (tests, small fixtures). The bytes are borrowed: the caller
// keeps them alive for the life of the source.
#include "cdi/source.hpp"

namespace cdi {

class memory_source final : public source {
public:
    explicit memory_source(std::span<const std::byte> data) noexcept : data_(data) {}
    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return data_.size(); }

private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

}  // namespace cdi
