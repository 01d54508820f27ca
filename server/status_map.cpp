#include "server/status_map.hpp"

namespace cdi {

http_error map_error(const error& e) {
    if (e.is(errc::too_large) || e.is(errc::no_space)) {
        return {400, "Saving stream failed: effective image size is larger than the reported available storage: " + e.message(),
                true};
    }
    for (errc client : {errc::unsafe_image, errc::corrupt_image, errc::bad_image, errc::ambiguous_format,
                        errc::format_mismatch, errc::empty, errc::too_small, errc::decompress, errc::bad_request,
                        errc::archive_unsafe_entry}) {
        if (e.is(client)) return {400, "Saving stream failed: " + e.message(), false};
    }
    return {500, "Saving stream failed: " + e.message(), false};
}

error attribute_to_body(error e, bool body_complete) {
    if (!body_complete || !e.is(errc::truncated)) return e;
    return make_error(errc::bad_image, "the image ends early inside the complete upload body: " + e.context);
}

http_error map_request_fault(request_fault f, std::string_view detail) {
    unsigned status = 400;
    if (f == request_fault::line_too_long) status = 414;
    if (f == request_fault::header_too_large) status = 431;
    return {status, std::string(class_token(errc::bad_request)) + ": " + std::string(detail), false};
}

}  // namespace cdi
