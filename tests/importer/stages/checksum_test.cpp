// checksum_spec parsing and the hasher, against the contract's Checksum checklist (section 9,
// CDI's pkg/importer/checksum_test.go and pkg/util/checksum/checksum_test.go) and section 4.
#include "importer/stages/checksum.hpp"
#include "importer/stages/checksum_source.hpp"
#include "importer/stages/hasher.hpp"
#include "support/test_env.hpp"
#include "support/test_stages.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdi {
namespace {

constexpr const char* sha256_empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* md5_empty = "d41d8cd98f00b204e9800998ecf8427e";
constexpr const char* sha1_empty = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
constexpr const char* sha512_empty =
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
constexpr const char* sha256_hello = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
constexpr const char* md5_hello = "5eb63bbbe01eeed093cb22bb8f5acdc3";
const std::string zeros64(64, '0');

// test::to_bytes("") hands memcpy a null pointer (UBSan); empty input is built directly.
test::bytes bytes_of(std::string_view s) { return s.empty() ? test::bytes{} : test::to_bytes(s); }

checksum_spec parse_ok(std::string_view text) {
    auto r = checksum_spec::parse(text);
    EXPECT_TRUE(r) << text << ": " << r.error().message();
    if (!r || !*r) throw std::runtime_error("no spec");
    return **r;
}

std::string parse_error(std::string_view text) {
    auto r = checksum_spec::parse(text);
    EXPECT_FALSE(r) << text;
    if (r) return {};
    EXPECT_TRUE(r.error().is(errc::bad_request));
    return r.error().context;
}

std::string digest_of(checksum_algorithm a, std::string_view data) {
    auto h = hasher::create(a);
    EXPECT_TRUE(h);
    auto bytes = bytes_of(data);
    EXPECT_TRUE(h->update(bytes));
    auto hex = h->finish_hex();
    EXPECT_TRUE(hex);
    return *hex;
}

// Runs data through a checksum_source with the given expectation; the final outcome.
result<void> validate(std::string_view spec_text, std::string_view data) {
    auto spec = parse_ok(spec_text);
    auto src = checksum_source::create(std::make_unique<test::scripted_source>(bytes_of(data)), spec);
    EXPECT_TRUE(src);
    auto out = test::drain(**src);
    if (!out) return out.error();
    return {};
}

TEST(checksum_spec, accepts_each_algorithm_with_its_digest_length) {
    auto s = parse_ok(std::string("sha256:") + sha256_empty);
    EXPECT_EQ(s.algorithm, checksum_algorithm::sha256);
    EXPECT_EQ(s.hex, sha256_empty);
    EXPECT_EQ(parse_ok(std::string("md5:") + md5_empty).algorithm, checksum_algorithm::md5);
    EXPECT_EQ(parse_ok(std::string("sha1:") + sha1_empty).algorithm, checksum_algorithm::sha1);
    EXPECT_EQ(parse_ok(std::string("sha512:") + sha512_empty).algorithm, checksum_algorithm::sha512);
    EXPECT_EQ(s.to_string(), std::string("sha256:") + sha256_empty);
}

TEST(checksum_spec, empty_string_means_no_validation) {
    auto r = checksum_spec::parse("");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->has_value());
}

TEST(checksum_spec, algorithm_and_hash_are_case_insensitive_and_trimmed) {
    std::string upper = sha256_empty;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto s = parse_ok("SHA256:" + upper);
    EXPECT_EQ(s.algorithm, checksum_algorithm::sha256);
    EXPECT_EQ(s.hex, sha256_empty);
    EXPECT_EQ(s.to_string(), std::string("sha256:") + sha256_empty);
    EXPECT_EQ(parse_ok(std::string(" Md5 :\t") + md5_empty + " \n").to_string(), std::string("md5:") + md5_empty);
}

TEST(checksum_spec, rejects_a_string_without_colon) {
    EXPECT_EQ(parse_error("sha256abc123"),
              "invalid checksum: invalid checksum format: expected 'algorithm:hash', got 'sha256abc123'");
    EXPECT_EQ(parse_error("sha256"), "invalid checksum: invalid checksum format: expected 'algorithm:hash', got 'sha256'");
}

TEST(checksum_spec, rejects_an_extra_colon_in_the_hash) {
    // Split at the first colon: the hash "abc:123" has the wrong length.
    EXPECT_EQ(parse_error("sha256:abc:123"),
              "invalid checksum: invalid sha256 hash length: expected 64 hex characters, got 7");
    // At the right length the colon is not hex.
    const std::string hash = std::string(sha256_empty).substr(0, 63);
    EXPECT_EQ(parse_error("sha256:" + hash.substr(0, 10) + ":" + hash.substr(10)),
              "invalid checksum: checksum hash is not valid hexadecimal: encoding/hex: invalid byte: U+003A ':'");
}

TEST(checksum_spec, rejects_unsupported_algorithms) {
    const std::string tail = "': supported algorithms are: md5, sha1, sha256, sha512";
    EXPECT_EQ(parse_error("crc32:abc123"), "invalid checksum: unsupported hash algorithm 'crc32" + tail);
    EXPECT_EQ(parse_error("sha384:abc123"), "invalid checksum: unsupported hash algorithm 'sha384" + tail);
    EXPECT_EQ(parse_error(":abc123"), "invalid checksum: unsupported hash algorithm '" + tail);
}

TEST(checksum_spec, rejects_an_empty_hash) {
    EXPECT_EQ(parse_error("sha256:"), "invalid checksum: checksum hash value cannot be empty");
    EXPECT_EQ(parse_error("sha256:   "), "invalid checksum: checksum hash value cannot be empty");
    // CDI checks the hash before the algorithm.
    EXPECT_EQ(parse_error("crc32:"), "invalid checksum: checksum hash value cannot be empty");
}

TEST(checksum_spec, rejects_a_wrong_length) {
    EXPECT_EQ(parse_error(std::string("md5:") + sha256_empty),
              "invalid checksum: invalid md5 hash length: expected 32 hex characters, got 64");
    EXPECT_EQ(parse_error(std::string("sha512:") + sha256_empty),
              "invalid checksum: invalid sha512 hash length: expected 128 hex characters, got 64");
    EXPECT_EQ(parse_error(std::string("sha1:") + md5_empty),
              "invalid checksum: invalid sha1 hash length: expected 40 hex characters, got 32");
    EXPECT_EQ(parse_error("sha256:" + zeros64 + "0"),
              "invalid checksum: invalid sha256 hash length: expected 64 hex characters, got 65");
}

TEST(checksum_spec, rejects_non_hex_digits) {
    EXPECT_EQ(parse_error("sha256:" + std::string(63, 'a') + "g"),
              "invalid checksum: checksum hash is not valid hexadecimal: encoding/hex: invalid byte: U+0067 'g'");
    EXPECT_EQ(parse_error("md5:" + std::string(31, '0') + "\x01"),
              "invalid checksum: checksum hash is not valid hexadecimal: encoding/hex: invalid byte: U+0001");
}

TEST(hasher, digests_of_the_empty_input_and_hello_world) {
    EXPECT_EQ(digest_of(checksum_algorithm::sha256, ""), sha256_empty);
    EXPECT_EQ(digest_of(checksum_algorithm::md5, ""), md5_empty);
    EXPECT_EQ(digest_of(checksum_algorithm::sha1, ""), sha1_empty);
    EXPECT_EQ(digest_of(checksum_algorithm::sha512, ""), sha512_empty);
    EXPECT_EQ(digest_of(checksum_algorithm::sha256, "hello world"), sha256_hello);
    EXPECT_EQ(digest_of(checksum_algorithm::md5, "hello world"), md5_hello);
}

TEST(hasher, matches_the_coreutils_tools_over_split_updates) {
    test::temp_dir dir;
    const auto data = test::random_bytes(300 * 1024 + 7, 42);
    test::write_file(dir / "data", data.data(), data.size());
    const std::pair<checksum_algorithm, const char*> tools[] = {{checksum_algorithm::md5, "md5sum"},
                                                                {checksum_algorithm::sha1, "sha1sum"},
                                                                {checksum_algorithm::sha256, "sha256sum"},
                                                                {checksum_algorithm::sha512, "sha512sum"}};
    for (const auto& [alg, tool] : tools) {
        const std::string expected = test::must_run(std::string(tool) + " " + (dir / "data").string()).substr(0, checksum_hex_length(alg));
        auto h = hasher::create(alg);
        ASSERT_TRUE(h);
        std::span<const std::byte> rest(data);
        for (std::size_t step = 1; !rest.empty(); step = step * 3 + 1) {
            const std::size_t n = std::min(step, rest.size());
            ASSERT_TRUE(h->update(rest.first(n)));
            rest = rest.subspan(n);
        }
        auto hex = h->finish_hex();
        ASSERT_TRUE(hex);
        EXPECT_EQ(*hex, expected) << tool;
        EXPECT_FALSE(h->finish_hex()) << "finishing twice is an error";
        EXPECT_FALSE(h->update(data)) << "updating after finish is an error";
    }
}

TEST(checksum_validation, correct_digests_pass) {
    EXPECT_TRUE(validate(std::string("sha256:") + sha256_empty, ""));
    EXPECT_TRUE(validate(std::string("md5:") + md5_empty, ""));
    EXPECT_TRUE(validate(std::string("sha512:") + sha512_empty, ""));
    EXPECT_TRUE(validate(std::string("sha256:") + sha256_hello, "hello world"));
    EXPECT_TRUE(validate(std::string("md5:") + md5_hello, "hello world"));
}

TEST(checksum_validation, a_mismatch_is_detectable_as_checksum_mismatch) {
    auto r = validate("sha256:" + zeros64, "hello world");
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().is(errc::checksum));
    EXPECT_NE(r.error().message().find("checksum mismatch"), std::string::npos);
    EXPECT_NE(r.error().context.find("expected sha256:"), std::string::npos);
}

}  // namespace
}  // namespace cdi
