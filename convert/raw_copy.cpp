#include "convert/raw_copy.hpp"

#include <string>

namespace cdi {

result<std::uint64_t> raw_copy(source& src, sink& dst, std::span<std::byte> buf, const cancel_token* cancel) {
    if (buf.empty()) return make_error(errc::bad_request, "copy buffer is empty");
    std::uint64_t total = 0;
    for (;;) {
        if (cancel && cancel->canceled()) {
            return make_error(errc::canceled, "copy canceled after " + std::to_string(total) + " bytes");
        }
        auto n = read_full(src, buf);
        if (!n) return n.error();
        if (*n == 0) return total;
        if (auto w = dst.write(buf.first(*n)); !w) return w.error();
        total += *n;
        if (*n < buf.size()) return total;  // read_full stops short only at the end of data
    }
}

}  // namespace cdi
