#pragma once
// The copy loop of a job: src → dst through one reusable buffer.
#include "cdi/progress.hpp"
#include "cdi/sink.hpp"
#include "cdi/source.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

namespace cdi {

// Reads src until its clean end and appends everything to dst; returns the bytes copied.
// - Each read fills buf completely (read_full) when the data allows, so with an aligned buf whose
//   size is a multiple of 4 KiB every write but the last is aligned (zero-copy under O_DIRECT).
// - cancel is checked before every chunk: errc::canceled, naming how far the copy got.
// - The first error of src or dst is returned as is. dst is not flushed: the caller flushes.
result<std::uint64_t> raw_copy(source& src, sink& dst, std::span<std::byte> buf, const cancel_token* cancel = nullptr);

}  // namespace cdi
