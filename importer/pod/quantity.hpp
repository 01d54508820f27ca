#pragma once
// Kubernetes resource quantities ("10Gi", "1G", "1.5Gi", "500M", "1e9") as byte counts, the way CDI
// passes IMPORTER_IMAGE_SIZE / UPLOAD_IMAGE_SIZE to qemu-img (Quantity.Value(): rounded up to an
// integer; contract section 2.6: 1Gi → 1073741824, 1G → 1000000000, 10Ki → 10240, 10k → 10000).
#include "cdi/error.hpp"

#include <cstdint>
#include <string_view>

namespace cdi {

// Parses a non-negative quantity; anything else is errc::bad_request naming the text.
result<std::uint64_t> parse_quantity(std::string_view text);

}  // namespace cdi
