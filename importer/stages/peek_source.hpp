#pragma once
// Reads the first `window` bytes of its upstream up front so they can be sniffed, then replays them
// before passing reads through: the consumer sees the upstream's bytes unchanged, from byte 0.
//
// Ownership: owns upstream. The head buffer is allocated once, in make(), and lives as long as the
// peek_source (head() stays valid; pipeline copies it).
// EOF: when the upstream ended inside the window, its end is remembered and the upstream is not
// read again; size_hint() is then exact.
#include "cdi/source.hpp"
#include "importer/stages/format_sniffer.hpp"

#include <vector>

namespace cdi {

class peek_source final : public source {
public:
    // Reads up to `window` bytes (read_full semantics: fewer only at the end of the data). An error
    // of the upstream during the peek is returned unchanged.
    static result<std::unique_ptr<peek_source>> make(source_ptr upstream, std::size_t window = sniff_window);

    // The peeked bytes: `window` of them, or the whole stream when it is shorter.
    std::span<const std::byte> head() const noexcept { return head_; }
    // True when the whole stream fit in the window (head() is all of it).
    bool ended() const noexcept { return ended_; }

    result<std::size_t> read(std::span<std::byte> buf) override;
    std::optional<std::uint64_t> size_hint() const override;
    void interrupt() noexcept override { upstream_->interrupt(); }

private:
    explicit peek_source(source_ptr upstream) : upstream_(std::move(upstream)) {}

    source_ptr upstream_;
    std::vector<std::byte> head_;
    std::size_t replayed_ = 0;  // bytes of head_ already handed out
    bool ended_ = false;        // the upstream returned 0 during the peek
};

}  // namespace cdi
