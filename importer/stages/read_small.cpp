#include "importer/stages/read_small.hpp"

#include <array>

namespace cdi {

result<std::string> read_small(source& src, std::size_t limit, const std::string& what) {
    std::string out;
    std::array<std::byte, 16384> buf{};
    for (;;) {
        auto n = src.read(buf);
        if (!n) return n.error();
        if (*n == 0) return out;
        if (out.size() + *n > limit)
            return make_error(errc::too_large, what + " is larger than " + std::to_string(limit >> 20) + " MiB");
        out.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
}

}  // namespace cdi
