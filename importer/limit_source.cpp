#include "importer/limit_source.hpp"

#include <string>

namespace cdi {

result<std::size_t> limit_source::read(std::span<std::byte> buf) {
    auto n = upstream_->read(buf);
    if (!n) return n;
    if (*n > max_ - count_) {
        return make_error(errc::too_large,
                          "image is larger than the target capacity of " + std::to_string(max_) + " bytes");
    }
    count_ += *n;
    return n;
}

}  // namespace cdi
