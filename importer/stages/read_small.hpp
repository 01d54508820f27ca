#pragma once
// The whole of a small stream (a manifest, a config, a token response), bounded: anything larger is
// refused rather than buffered.
#include "cdi/error.hpp"
#include "cdi/source.hpp"

#include <cstddef>
#include <string>

namespace cdi {

// At most limit bytes, else errc::too_large naming what.
result<std::string> read_small(source& src, std::size_t limit, const std::string& what);

}  // namespace cdi
