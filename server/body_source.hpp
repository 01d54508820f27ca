#pragma once
// The upload body as a cdi::source for the import job (worker thread): copies out of the chunks of
// a body_channel and releases each once consumed. 0 = the body ended cleanly; a body cut short
// (client gone, idle timeout, cancel) is the channel's error (errc::truncated / errc::canceled).
#include "cdi/source.hpp"
#include "server/body_channel.hpp"

#include <memory>

namespace cdi {

class body_source final : public source {
public:
    body_source(std::shared_ptr<body_channel> channel, std::optional<std::uint64_t> content_length);
    ~body_source() override;

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override { return content_length_; }

private:
    std::shared_ptr<body_channel> channel_;
    std::optional<std::uint64_t> content_length_;
    std::optional<body_channel::filled> current_;
    std::size_t offset_ = 0;
    bool ended_ = false;
};

}  // namespace cdi
