#include "convert/staged_size_watch.hpp"

#include "convert/image_reader.hpp"
#include "convert/vhdx_header.hpp"

namespace cdi {
namespace {

constexpr std::uint64_t first_check = 4ull << 20;
constexpr std::uint64_t last_check = 64ull << 20;

}  // namespace

staged_size_watch::staged_size_watch(sink& staged, image_format format, std::filesystem::path path, std::uint64_t capacity)
    : staged_(staged), path_(std::move(path)), capacity_(capacity), next_check_(format == image_format::vhdx ? first_check : 0) {}

result<void> staged_size_watch::write(std::span<const std::byte> data) {
    if (auto r = staged_.write(data); !r) return r;
    return maybe_check();
}

result<void> staged_size_watch::zero(std::uint64_t len) {
    if (auto r = staged_.zero(len); !r) return r;
    return maybe_check();
}

result<void> staged_size_watch::maybe_check() {
    if (next_check_ == 0 || staged_.offset() < next_check_) return {};
    next_check_ = next_check_ >= last_check ? 0 : next_check_ * 2;
    // What the staged file holds so far (a writer may keep its last partial block or zeros back: a
    // structure not there yet reads as past the end, which decides nothing).
    auto file = image_reader::open(path_);
    if (!file) return {};
    auto h = vhdx_header::read_geometry(*file);
    if (!h) return {};
    next_check_ = 0;
    declared_ = h->virtual_size();
    if (*declared_ <= capacity_) return {};
    refused_ = true;
    return too_large_error(*declared_, capacity_);
}

}  // namespace cdi
