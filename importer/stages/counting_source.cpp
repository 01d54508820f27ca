#include "importer/stages/counting_source.hpp"

namespace cdi {

result<std::size_t> counting_source::read(std::span<std::byte> buf) {
    auto n = upstream_->read(buf);
    if (n && *n > 0) {
        count_ += *n;
        progress_.add_wire_bytes(*n);
    }
    return n;
}

}  // namespace cdi
