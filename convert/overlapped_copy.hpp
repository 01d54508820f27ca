#pragma once
// The copy loop of a job with reading and writing overlapped: the calling thread reads the source
// (receives, decrypts, decompresses) into one buffer while a writer thread appends the other to the
// sink (zero scan, O_DIRECT write). Done one after the other, as raw_copy does, each chunk waits
// for the disk and then for the source; here the slower of the two sets the pace (measured in
// docs/performance.md).
//
// Contract (raw_copy's, plus):
// - first and second are equal-sized, disjoint buffers (aligned_buffer halves: every write but the
//   last stays aligned for O_DIRECT). Chunks reach dst in order, each written before its buffer is
//   filled again; the sink never keeps a reference to a buffer after write() returns.
// - src is used only on the calling thread and dst only on the writer thread, so neither needs to
//   be thread-safe; when the function returns the writer thread has been joined, and dst may be
//   flushed by the caller.
// - cancel is checked before every chunk read: errc::canceled, naming how far the copy got. The first
//   error of dst (the writer stops at once) or of src is returned; after an error nothing more is
//   written. If no thread can be started, the copy runs as raw_copy.
#include "cdi/progress.hpp"
#include "cdi/sink.hpp"
#include "cdi/source.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi {

// The size of each of a job's two copy buffers (one being read into while the other is written):
// large requests keep per-syscall cost (~1 µs here) noise (performance.md: ovirt-imageio settled
// on 4-8 MiB). A multiple of every O_DIRECT alignment, so every write but the last stays aligned.
inline constexpr std::size_t copy_buffer_size = 4 << 20;

result<std::uint64_t> overlapped_copy(source& src, sink& dst, std::span<std::byte> first, std::span<std::byte> second,
                                      const cancel_token* cancel = nullptr);

}  // namespace cdi
