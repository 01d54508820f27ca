#include "server/status_map.hpp"

namespace cdi {

http_error map_error(const error& e) {
    if (e.is(errc::too_large) || e.is(errc::no_space)) {
        return {400, "Saving stream failed: effective image size is larger than the reported available storage: " + e.message(),
                true};
    }
    for (errc client : {errc::unsafe_image, errc::corrupt_image, errc::bad_image, errc::ambiguous_format,
                        errc::format_mismatch, errc::empty, errc::too_small, errc::decompress, errc::bad_request}) {
        if (e.is(client)) return {400, "Saving stream failed: " + e.message(), false};
    }
    return {500, "Saving stream failed: " + e.message(), false};
}

}  // namespace cdi
