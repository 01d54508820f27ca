#include "importer/stages/checksum_source.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace cdi {

result<std::unique_ptr<checksum_source>> checksum_source::create(source_ptr upstream, checksum_spec expected,
                                                                 std::string blob) {
    auto h = background_hasher::create(expected.algorithm);
    if (!h) return h.error();
    return std::unique_ptr<checksum_source>(
        new checksum_source(std::move(upstream), std::move(expected), std::move(*h), std::move(blob)));
}

result<std::size_t> checksum_source::fail(error e) {
    state_ = state::failed;
    error_ = e;
    return e;
}

result<std::size_t> checksum_source::finish() {
    auto got = hasher_.finish_hex();
    if (!got) return fail(got.error());
    if (*got != expected_.hex) {
        const std::string alg(checksum_algorithm_name(expected_.algorithm));
        if (!blob_.empty())
            return fail(make_error(errc::digest_mismatch, blob_ + " does not match its digest: calculated " + alg + ":" + *got));
        return fail(make_error(errc::checksum, "checksum validation failed: checksum mismatch: expected " +
                                                   expected_.to_string() + ", calculated " + alg + ":" + *got));
    }
    state_ = state::verified;
    if (blob_.empty()) spdlog::info("Checksum verification passed: {} ({} bytes)", expected_.to_string(), bytes_);
    return std::size_t{0};
}

result<std::size_t> checksum_source::read(std::span<std::byte> buf) {
    if (state_ == state::failed) return *error_;
    if (state_ == state::verified) return std::size_t{0};
    auto n = upstream_->read(buf);
    if (!n) return fail(n.error());
    if (*n == 0) {
        // An empty buffer reads 0 without meaning the end.
        if (buf.empty()) return n;
        return finish();
    }
    if (auto u = hasher_.update(buf.first(*n)); !u) return fail(u.error());
    bytes_ += *n;
    return n;
}

result<void> checksum_source::drain_and_verify() {
    if (state_ == state::verified) return {};
    if (state_ == state::failed) return *error_;
    // Allocated only here: most consumers read to the end and never drain.
    std::vector<std::byte> buf(64 * 1024);
    for (;;) {
        auto n = read(buf);
        if (!n) return n.error();
        if (*n == 0) return {};
    }
}

}  // namespace cdi
