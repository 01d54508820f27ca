#include "importer/archive/tar_entry_data.hpp"

#include <algorithm>
#include <cstring>

namespace cdi {

result<std::size_t> tar_entry_data::read(archive_reader& reader, std::span<std::byte> buf) {
    for (;;) {
        if (pos_ >= size_ || buf.empty()) return std::size_t{0};
        if (pending_.empty() && !data_end_) {
            auto b = reader.next_block();
            if (!b) return b.error();
            if (!*b) {
                data_end_ = true;
            } else {
                pending_ = (*b)->data;
                pending_offset_ = (*b)->offset;
                if (pending_offset_ < pos_ || pending_offset_ + pending_.size() > size_) {
                    return make_error(errc::bad_image, "damaged tar archive: sparse map of \"" + path_ + "\" is out of order");
                }
            }
            continue;
        }
        // A gap before the next block (or after the last one) is a hole: zeros.
        const std::uint64_t hole_end = pending_.empty() ? size_ : pending_offset_;
        if (pos_ < hole_end) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), hole_end - pos_));
            std::memset(buf.data(), 0, n);
            pos_ += n;
            return n;
        }
        const std::size_t n = std::min(buf.size(), pending_.size());
        std::memcpy(buf.data(), pending_.data(), n);
        pending_ = pending_.subspan(n);
        pending_offset_ += n;
        pos_ += n;
        return n;
    }
}

}  // namespace cdi
