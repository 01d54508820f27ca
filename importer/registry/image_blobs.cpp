#include "importer/registry/image_blobs.hpp"

#include "importer/stages/hasher.hpp"

#include <array>

namespace cdi {
namespace {

// Fails a blob that is longer or shorter than its descriptor says, before any of the excess is
// passed on (a registry streaming without end cannot make us read more than the manifest allows).
class exact_size_source final : public source {
public:
    exact_size_source(source_ptr upstream, std::uint64_t size, std::string what)
        : upstream_(std::move(upstream)), size_(size), what_(std::move(what)) {}

    result<std::size_t> read(std::span<std::byte> buf) override {
        if (buf.empty()) return std::size_t{0};
        // One byte more than allowed is asked for at the end, so an overlong blob is caught.
        const std::uint64_t left = size_ - got_;
        auto want = buf.size() > left + 1 ? buf.first(static_cast<std::size_t>(left + 1)) : buf;
        auto n = upstream_->read(want);
        if (!n) return n;
        got_ += *n;
        if (got_ > size_) return make_error(errc::digest_mismatch, what_ + " is longer than its size " + std::to_string(size_));
        if (*n == 0 && got_ < size_)
            return make_error(errc::truncated, what_ + " ended at byte " + std::to_string(got_) + " of " + std::to_string(size_));
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return size_; }
    void interrupt() noexcept override { upstream_->interrupt(); }

private:
    source_ptr upstream_;
    std::uint64_t size_;
    std::string what_;
    std::uint64_t got_ = 0;
};

}  // namespace

result<checksum_spec> digest_spec(const std::string& digest) {
    auto spec = checksum_spec::parse(digest);
    if (!spec || !*spec || ((*spec)->algorithm != checksum_algorithm::sha256 && (*spec)->algorithm != checksum_algorithm::sha512))
        return make_error(errc::bad_image, "unsupported or malformed digest \"" + digest + "\"");
    return **spec;
}

result<std::unique_ptr<checksum_source>> verified_blob(source_ptr blob, const descriptor& d, const std::string& what) {
    auto spec = digest_spec(d.digest);
    if (!spec) return spec.error();
    return checksum_source::create(std::make_unique<exact_size_source>(std::move(blob), d.size, what), *spec, what);
}

result<void> verify_manifest(const manifest_bytes& m, const std::string& what) {
    if (m.digest.empty()) return {};
    auto spec = digest_spec(m.digest);
    if (!spec) return spec.error();
    auto h = hasher::create(spec->algorithm);
    if (!h) return h.error();
    if (auto u = h->update(std::as_bytes(std::span(m.body.data(), m.body.size()))); !u) return u.error();
    auto got = h->finish_hex();
    if (!got) return got.error();
    if (*got != spec->hex)
        return make_error(errc::digest_mismatch, what + " does not match its digest " + m.digest + ": calculated " +
                                                     std::string(checksum_algorithm_name(spec->algorithm)) + ":" + *got);
    return {};
}

}  // namespace cdi
