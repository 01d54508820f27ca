// checksum_source: hashes what passes through, fails only the final read on a mismatch (contract
// section 4), passes upstream errors through, and drain_and_verify() for consumers that stop early.
#include "importer/stages/checksum_source.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace cdi {
namespace {

constexpr const char* sha256_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* sha256_hello = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
const std::string zeros64(64, '0');

checksum_spec spec(std::string_view text) {
    auto r = checksum_spec::parse(text);
    if (!r || !*r) throw std::runtime_error("bad spec in test");
    return **r;
}

std::unique_ptr<checksum_source> make(test::bytes data, std::string_view spec_text, std::size_t chunk = SIZE_MAX,
                                      std::size_t fail_at = 0) {
    auto src = checksum_source::create(std::make_unique<test::scripted_source>(std::move(data), chunk, fail_at),
                                       spec(spec_text));
    if (!src) throw std::runtime_error(src.error().message());
    return std::move(*src);
}

TEST(checksum_source, passes_every_byte_through_and_verifies_a_match_at_the_end) {
    const auto data = test::to_bytes("hello world");
    auto src = make(data, std::string("sha256:") + sha256_hello, 1);
    EXPECT_EQ(src->size_hint(), data.size());
    auto out = test::drain(*src, 7);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(*out, data);
    EXPECT_TRUE(src->verified());
    EXPECT_EQ(src->bytes(), data.size());
    std::array<std::byte, 4> buf{};
    auto again = src->read(buf);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 0u) << "the end stays the end";
}

TEST(checksum_source, a_mismatch_fails_only_the_final_read_with_cdis_text) {
    const auto data = test::to_bytes("hello world");
    auto src = make(data, "SHA256:" + zeros64, 1);
    std::array<std::byte, 16> buf{};
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto n = src->read(buf);
        ASSERT_TRUE(n) << "byte " << i << ": " << n.error().message();
        ASSERT_EQ(*n, 1u);
        EXPECT_FALSE(src->verified());
    }
    auto end = src->read(buf);
    ASSERT_FALSE(end);
    EXPECT_TRUE(end.error().is(errc::checksum));
    EXPECT_EQ(end.error().context, "checksum validation failed: checksum mismatch: expected sha256:" + zeros64 +
                                       ", calculated sha256:" + sha256_hello);
    EXPECT_EQ(end.error().message(), "E_CHECKSUM: " + end.error().context);
    EXPECT_FALSE(src->verified());
    EXPECT_EQ(src->bytes(), data.size());
    auto again = src->read(buf);
    ASSERT_FALSE(again) << "a failed source stays failed";
    EXPECT_EQ(again.error().context, end.error().context);
    EXPECT_FALSE(src->drain_and_verify());
}

TEST(checksum_source, names_the_algorithm_in_the_mismatch) {
    auto src = make(test::to_bytes("hello world"), "md5:" + std::string(32, 'f'));
    auto out = test::drain(*src);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().context,
              "checksum validation failed: checksum mismatch: expected md5:ffffffffffffffffffffffffffffffff, "
              "calculated md5:5eb63bbbe01eeed093cb22bb8f5acdc3");
}

TEST(checksum_source, empty_input_is_checked_too) {
    auto good = make({}, std::string("sha256:") + sha256_empty);
    auto out = test::drain(*good);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->empty());
    EXPECT_TRUE(good->verified());
    EXPECT_EQ(good->bytes(), 0u);

    auto bad = make({}, std::string("sha256:") + sha256_hello);
    auto r = test::drain(*bad);
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::checksum));
    EXPECT_NE(r.error().context.find(std::string("calculated sha256:") + sha256_empty), std::string::npos);
}

TEST(checksum_source, drain_and_verify_reads_what_a_consumer_left_behind) {
    const auto data = test::random_bytes(200 * 1024 + 3, 9);
    auto probe = make(data, "sha256:" + zeros64);
    auto probe_out = test::drain(*probe);
    ASSERT_FALSE(probe_out);
    const std::string ctx = probe_out.error().context;
    const std::string actual = ctx.substr(ctx.rfind(':') + 1);
    ASSERT_EQ(actual.size(), 64u);

    auto src = make(data, "sha256:" + actual, 4096);
    std::array<std::byte, 1000> buf{};
    ASSERT_TRUE(read_full(*src, buf));
    EXPECT_FALSE(src->verified());
    auto r = src->drain_and_verify();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(src->verified());
    EXPECT_EQ(src->bytes(), data.size());
    EXPECT_TRUE(src->drain_and_verify()) << "idempotent once verified";

    auto wrong = make(data, "sha256:" + zeros64, 4096);
    ASSERT_TRUE(read_full(*wrong, buf));
    auto w = wrong->drain_and_verify();
    ASSERT_FALSE(w);
    EXPECT_TRUE(w.error().is(errc::checksum));
    EXPECT_EQ(w.error().context, ctx);
    EXPECT_EQ(wrong->bytes(), data.size());
}

TEST(checksum_source, upstream_errors_pass_through_unchanged) {
    auto src = make(test::to_bytes("hello world"), std::string("sha256:") + sha256_hello, 2, 3);
    std::array<std::byte, 8> buf{};
    ASSERT_TRUE(src->read(buf));
    ASSERT_TRUE(src->read(buf));
    auto n = src->read(buf);
    ASSERT_FALSE(n);
    EXPECT_TRUE(n.error().is(errc::io));
    EXPECT_EQ(n.error().context, "injected read fault");
    EXPECT_FALSE(src->verified());
    EXPECT_EQ(src->bytes(), 4u);
    auto d = src->drain_and_verify();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().context, "injected read fault");
}

TEST(checksum_source, drain_and_verify_reports_an_upstream_error_in_the_tail) {
    auto src = make(test::random_bytes(10000), "sha256:" + zeros64, 1000, 5);
    std::array<std::byte, 1000> buf{};
    ASSERT_TRUE(src->read(buf));
    auto d = src->drain_and_verify();
    ASSERT_FALSE(d);
    EXPECT_TRUE(d.error().is(errc::io));
}

}  // namespace
}  // namespace cdi
