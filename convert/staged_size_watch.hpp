#pragma once
// While a convertible image is staged in scratch, the virtual size it declares is checked against the
// target's capacity as soon as the staged bytes hold it, not after the whole body has arrived. For
// VHDX, whose size lives in a metadata region past the sniffed head (qemu-img puts it at 2 MiB, other
// creators within the first MiBs); VDI and dynamic VHD are checked at the head already
// (declared_size.hpp), qcow2 and streamOptimized VMDK by their stream decoders.
//
// A sink in front of the staged file's writer: everything passes through unchanged; when the bytes
// passed first reach 4, 8, 16, 32 and 64 MiB, the file written so far is read with the inspector's own
// parser (vhdx_header::read_geometry). Only bytes physically in the file count: a writer keeps
// trailing zeros back as a hole, so the regions are seen once data lands past them (qemu-img's
// layout: metadata at 3 MiB, first payload block at 8 MiB, decided at the 16 MiB check). A size over the capacity ends the staging with
// too_large_error — CDI's capacity words, what the inspector says of the same bytes after staging —
// and refused() is set. A header it cannot read yet, or at all, decides nothing: the inspector reads
// the whole staged file afterwards and names the cause.
// Thread-safety: none (called from the copy's writer thread only).
#include "cdi/image_format.hpp"
#include "cdi/sink.hpp"

#include <cstdint>
#include <filesystem>

namespace cdi {

class staged_size_watch final : public sink {
public:
    // path is the file staged sink writes; it must be readable by path while it is written.
    staged_size_watch(sink& staged, image_format format, std::filesystem::path path, std::uint64_t capacity);

    result<void> write(std::span<const std::byte> data) override;
    result<void> zero(std::uint64_t len) override;
    result<void> flush() override { return staged_.flush(); }
    std::uint64_t offset() const override { return staged_.offset(); }
    std::optional<std::uint64_t> capacity() const override { return staged_.capacity(); }
    sink_caps caps() const override { return staged_.caps(); }

    // The staging ended because the declared size exceeds the capacity.
    bool refused() const noexcept { return refused_; }
    // The size read from the staged prefix, when one was.
    std::optional<std::uint64_t> declared() const noexcept { return declared_; }

private:
    result<void> maybe_check();

    sink& staged_;
    std::filesystem::path path_;
    std::uint64_t capacity_;
    std::uint64_t next_check_;  // 0: nothing (more) to check
    std::optional<std::uint64_t> declared_;
    bool refused_ = false;
};

}  // namespace cdi
