#pragma once
// The Range request header of a single-file server (RFC 9110 section 14), as Go's http.ServeContent
// answers it for one range:
//   bytes=a-b   bytes a..min(b, size-1)          bytes=a-   bytes a..size-1
//   bytes=-n    the last min(n, size) bytes
// A first byte at or past the end, "bytes=-0", or any range of an empty file is unsatisfiable (416).
// A malformed "bytes=" value (a > b, not digits, overflow) is unsatisfiable too, as in Go. A unit other
// than "bytes", and several ranges ("bytes=0-1,5-6"), are ignored: the whole file is served (200),
// which RFC 9110 allows and which every client handles.
#include <cstdint>
#include <string_view>

namespace cdi {

struct byte_range {
    enum class kind { whole, part, unsatisfiable };
    kind type = kind::whole;
    std::uint64_t first = 0;  // inclusive (part only)
    std::uint64_t last = 0;   // inclusive (part only)
};

byte_range parse_byte_range(std::string_view header, std::uint64_t size);

}  // namespace cdi
