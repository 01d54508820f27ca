// The pure resume rules (issue 12 item 9): which validator If-Range sends, Content-Range parsing,
// the judgement of a resume's answer, and of a range read again (issue 14).
#include "importer/http/http_resume.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

constexpr std::uint64_t max_skip = 1024 * 1024;

http_response_head answer(unsigned status, std::optional<std::uint64_t> length, std::string content_range = {},
                          std::string etag = {}, std::string last_modified = {}) {
    http_response_head h;
    h.status = status;
    h.content_length = length;
    h.content_range = std::move(content_range);
    h.etag = std::move(etag);
    h.last_modified = std::move(last_modified);
    return h;
}

const body_validators with_etag{1000, "\"v1\"", "Tue, 01 Dec 2026 10:00:00 GMT"};
const body_validators without_validator{1000, "", ""};

TEST(http_resume, if_range_prefers_a_strong_etag_then_last_modified_and_is_empty_without_either) {
    EXPECT_EQ(with_etag.if_range(), "\"v1\"");
    EXPECT_EQ((body_validators{1000, "W/\"weak\"", "Tue, 01 Dec 2026 10:00:00 GMT"}.if_range()), "Tue, 01 Dec 2026 10:00:00 GMT");
    EXPECT_EQ((body_validators{1000, "W/\"weak\"", ""}.if_range()), "");
    EXPECT_EQ(without_validator.if_range(), "");
    auto first = body_validators::of(answer(200, 7, {}, "\"x\"", "lm"));
    EXPECT_EQ(first.length, 7u);
    EXPECT_EQ(first.etag, "\"x\"");
    EXPECT_EQ(first.last_modified, "lm");
}

TEST(http_resume, parses_content_range_and_refuses_malformed_ones) {
    auto r = parse_content_range("bytes 100-999/1000");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 100u);
    EXPECT_EQ(r->last, 999u);
    EXPECT_EQ(r->complete, 1000u);
    auto star = parse_content_range("bytes 0-9/*");
    ASSERT_TRUE(star);
    EXPECT_FALSE(star->complete);
    for (const char* bad : {"", "bytes", "bytes 1-/10", "bytes -5/10", "bytes 5-4/10", "bytes 0-9/9", "bytes 0-9/x",
                            "items 0-9/10", "bytes 0-9", "bytes 0-9/10 ", "bytes 99999999999999999999-1/2"})
        EXPECT_FALSE(parse_content_range(bad)) << bad;
}

TEST(http_resume, a_206_for_the_rest_of_the_same_body_is_appended) {
    auto a = judge_resume(with_etag, 400, answer(206, 600, "bytes 400-999/1000", "\"v1\""), max_skip);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, resume_action::append);
    // No ETag or length on the 206 is tolerated; the Content-Range carries the identity.
    a = judge_resume(with_etag, 400, answer(206, std::nullopt, "bytes 400-999/1000"), max_skip);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, resume_action::append);
}

TEST(http_resume, a_206_that_is_not_the_rest_of_the_same_body_is_refused) {
    const std::vector<http_response_head> bad = {
        answer(206, 600, "bytes 300-899/1000", "\"v1\""),   // wrong start
        answer(206, 600, "bytes 400-999/1001", "\"v1\""),   // another total
        answer(206, 1600, "bytes 400-1999/2000", "\"v1\""), // another total, consistently
        answer(206, 100, "bytes 400-499/1000", "\"v1\""),   // stops before the end
        answer(206, 700, "bytes 400-999/1000", "\"v1\""),   // longer than its range
        answer(206, 600, "bytes 400-999/1000", "\"v2\""),   // the ETag changed
        answer(206, 600, "bytes 400-999/1000", "\"v1\"", "Wed, 02 Dec 2026 10:00:00 GMT"),  // modified
        answer(206, 600, "bytes 400-999", "\"v1\""),        // malformed
        answer(206, 600, "", "\"v1\""),                     // missing
    };
    for (const auto& h : bad) {
        auto a = judge_resume(with_etag, 400, h, max_skip);
        ASSERT_FALSE(a) << h.content_range << " " << h.etag;
        EXPECT_TRUE(a.error().is(errc::truncated)) << a.error().message();
        EXPECT_NE(a.error().context.find("at byte 400"), std::string::npos) << a.error().context;
    }
}

TEST(http_resume, without_a_validator_the_whole_body_again_is_verified_whatever_the_offset) {
    auto a = judge_resume(without_validator, 900, answer(200, 1000), 10);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, resume_action::skip_prefix);
    // A 206 to a request that had no Range, or a body of another length: refused.
    EXPECT_FALSE(judge_resume(without_validator, 900, answer(206, 100, "bytes 900-999/1000"), max_skip));
    EXPECT_FALSE(judge_resume(without_validator, 900, answer(200, 1001), max_skip));
    EXPECT_FALSE(judge_resume(without_validator, 900, answer(200, std::nullopt), max_skip));
}

TEST(http_resume, a_200_to_a_range_request_is_skipped_only_when_small_and_unchanged) {
    auto a = judge_resume(with_etag, 400, answer(200, 1000, {}, "\"v1\""), max_skip);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, resume_action::skip_prefix);
    EXPECT_FALSE(judge_resume(with_etag, 400, answer(200, 1000, {}, "\"v1\""), 100));  // too much to skip
    EXPECT_FALSE(judge_resume(with_etag, 400, answer(200, 1000, {}, "\"v2\""), max_skip));  // If-Range failed: changed
    EXPECT_FALSE(judge_resume(with_etag, 400, answer(200, 999, {}, "\"v1\""), max_skip));
}

// Bytes 100..599 of the body whose first 200 had with_etag's validators.
const http_byte_range wanted{100, 599, 1000, "\"v1\"", "Tue, 01 Dec 2026 10:00:00 GMT"};

TEST(http_resume, takes_a_range_read_again_only_as_a_206_of_exactly_those_bytes_of_the_same_body) {
    const std::string lm = "Tue, 01 Dec 2026 10:00:00 GMT";
    EXPECT_TRUE(judge_range(wanted, 0, answer(206, 500, "bytes 100-599/1000", "\"v1\"", lm)));
    EXPECT_TRUE(judge_range(wanted, 0, answer(206, std::nullopt, "bytes 100-599/*", "\"v1\"", lm)));
    // Resumed after 50 bytes of the range: the rest of it.
    EXPECT_TRUE(judge_range(wanted, 50, answer(206, 450, "bytes 150-599/1000", "\"v1\"", lm)));
}

TEST(http_resume, refuses_a_range_read_again_from_another_body_or_of_other_bytes_as_truncated) {
    const std::string lm = "Tue, 01 Dec 2026 10:00:00 GMT";
    const auto refused = [](const result<void>& r, const std::string& needle) {
        ASSERT_FALSE(r);
        EXPECT_TRUE(r.error().is(errc::truncated)) << r.error().message();
        EXPECT_NE(r.error().context.find(needle), std::string::npos) << r.error().message();
    };
    refused(judge_range(wanted, 0, answer(200, 1000, {}, "\"v1\"", lm)), "answered 200 instead of 206");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 100-599/1000", "\"v2\"", lm)), "the ETag changed");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 100-599/1000", "", lm)), "the ETag changed");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 100-599/1000", "\"v1\"", "Wed, 02 Dec 2026 10:00:00 GMT")),
            "Last-Modified changed");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 101-600/1000", "\"v1\"", lm)), "answered with Content-Range");
    refused(judge_range(wanted, 0, answer(206, 900, "bytes 100-999/1000", "\"v1\"", lm)), "answered with Content-Range");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 100-599/2000", "\"v1\"", lm)), "another length");
    refused(judge_range(wanted, 0, answer(206, 400, "bytes 100-599/1000", "\"v1\"", lm)), "disagrees with Content-Range");
    refused(judge_range(wanted, 0, answer(206, 500, "bytes 100-599", "\"v1\"", lm)), "malformed Content-Range");
}

}  // namespace
}  // namespace cdi
