#include "importer/stages/memory_source.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

result<std::size_t> memory_source::read(std::span<std::byte> buf) {
    std::size_t n = std::min(buf.size(), data_.size() - pos_);
    if (n > 0) std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
}

}  // namespace cdi
