// background_hasher: the digest hasher gives for the same bytes, whatever the update sizes and the
// slots; finished once; destroyed mid-stream without waiting for anything.
#include "importer/stages/background_hasher.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

std::string reference_digest(checksum_algorithm alg, std::span<const std::byte> data) {
    auto h = hasher::create(alg);
    if (!h || !h->update(data)) throw std::runtime_error("hasher failed in test");
    auto hex = h->finish_hex();
    if (!hex) throw std::runtime_error("hasher failed in test");
    return *hex;
}

TEST(background_hasher, gives_the_digest_of_the_bytes_whatever_the_update_sizes_and_slots) {
    const test::bytes data = test::random_bytes(100'000, 11);
    // Update sizes below, at and above the slot size, so updates fill, share and split slots.
    const std::size_t steps[] = {1, 999, 1000, 1001, 4096, 33'333};
    for (const auto alg : {checksum_algorithm::md5, checksum_algorithm::sha256, checksum_algorithm::sha512}) {
        for (const std::size_t slots : {1u, 2u, 3u}) {
            auto h = background_hasher::create(alg, slots, 1000);
            ASSERT_TRUE(h) << h.error().message();
            std::size_t at = 0;
            for (std::size_t i = 0; at < data.size(); ++i) {
                const std::size_t n = std::min(steps[i % std::size(steps)], data.size() - at);
                ASSERT_TRUE(h->update(std::span(data).subspan(at, n)));
                at += n;
            }
            auto hex = h->finish_hex();
            ASSERT_TRUE(hex) << hex.error().message();
            EXPECT_EQ(*hex, reference_digest(alg, data)) << "slots " << slots;
        }
    }
}

TEST(background_hasher, an_input_never_updated_digests_as_empty_and_starts_no_thread) {
    auto h = background_hasher::create(checksum_algorithm::sha256);
    ASSERT_TRUE(h);
    ASSERT_TRUE(h->update({}));
    auto hex = h->finish_hex();
    ASSERT_TRUE(hex);
    EXPECT_EQ(*hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(background_hasher, is_finished_once) {
    const test::bytes data = test::random_bytes(5000, 12);
    auto h = background_hasher::create(checksum_algorithm::sha256, 2, 1024);
    ASSERT_TRUE(h);
    ASSERT_TRUE(h->update(data));
    ASSERT_TRUE(h->finish_hex());
    auto again = h->update(data);
    ASSERT_FALSE(again);
    EXPECT_TRUE(again.error().is(errc::checksum)) << again.error().message();
    auto second = h->finish_hex();
    ASSERT_FALSE(second);
    EXPECT_TRUE(second.error().is(errc::checksum)) << second.error().message();
}

TEST(background_hasher, destroyed_with_slots_queued_stops_its_thread) {
    const test::bytes data = test::random_bytes(1 << 20, 13);
    {
        auto h = background_hasher::create(checksum_algorithm::sha512, 2, 4096);
        ASSERT_TRUE(h);
        for (int i = 0; i < 8; ++i) ASSERT_TRUE(h->update(data));
    }  // no finish_hex: the job failed; the destructor returns once the thread has drained its queue
    SUCCEED();
}

TEST(background_hasher, moved_from_it_is_inert_and_the_moved_to_one_finishes) {
    const test::bytes data = test::random_bytes(10'000, 14);
    auto h = background_hasher::create(checksum_algorithm::sha256, 2, 1000);
    ASSERT_TRUE(h);
    ASSERT_TRUE(h->update(std::span(data).first(3000)));
    background_hasher moved(std::move(*h));
    ASSERT_TRUE(moved.update(std::span(data).subspan(3000)));
    auto hex = moved.finish_hex();
    ASSERT_TRUE(hex);
    EXPECT_EQ(*hex, reference_digest(checksum_algorithm::sha256, data));
}

}  // namespace
}  // namespace cdi
