#include "importer/http/http_resume.hpp"

#include <charconv>

namespace cdi {
namespace {

std::optional<std::uint64_t> number(std::string_view s) {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

bool strong(const std::string& etag) { return !etag.empty() && etag.rfind("W/", 0) != 0; }

error refused(std::uint64_t offset, const std::string& why) {
    return make_error(errc::truncated, "cannot resume the body at byte " + std::to_string(offset) + ": " + why);
}

}  // namespace

body_validators body_validators::of(const http_response_head& first) {
    return {first.content_length, first.etag, first.last_modified};
}

std::string body_validators::if_range() const { return strong(etag) ? etag : last_modified; }

std::optional<content_range> parse_content_range(std::string_view v) {
    if (v.substr(0, 6) != "bytes ") return std::nullopt;
    v.remove_prefix(6);
    const auto dash = v.find('-');
    const auto slash = v.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return std::nullopt;
    auto first = number(v.substr(0, dash));
    auto last = number(v.substr(dash + 1, slash - dash - 1));
    if (!first || !last || *last < *first) return std::nullopt;
    content_range r{*first, *last, std::nullopt};
    const auto total = v.substr(slash + 1);
    if (total != "*") {
        r.complete = number(total);
        if (!r.complete || *r.complete <= r.last) return std::nullopt;
    }
    return r;
}

result<resume_action> judge_resume(const body_validators& first, std::uint64_t offset, const http_response_head& again,
                                   std::uint64_t max_skip) {
    // The same representation, whatever the status: a validator the first 200 had may not change.
    if (!first.etag.empty() && !again.etag.empty() && again.etag != first.etag)
        return refused(offset, "the ETag changed from " + first.etag + " to " + again.etag);
    if (!first.last_modified.empty() && !again.last_modified.empty() && again.last_modified != first.last_modified)
        return refused(offset, "Last-Modified changed from \"" + first.last_modified + "\" to \"" + again.last_modified + "\"");
    const bool ranged = !first.if_range().empty();
    if (again.status == 206) {
        if (!ranged) return refused(offset, "206 to a request without Range");
        const auto range = parse_content_range(again.content_range);
        if (!range) return refused(offset, "malformed Content-Range \"" + again.content_range + "\"");
        if (range->first != offset) return refused(offset, "answered with Content-Range \"" + again.content_range + "\"");
        const auto total = range->complete ? range->complete : first.length;
        if (first.length && range->complete && *range->complete != *first.length)
            return refused(offset, "Content-Range \"" + again.content_range + "\" names another length than the first " +
                                       std::to_string(*first.length));
        if (total && range->last + 1 != *total)
            return refused(offset, "Content-Range \"" + again.content_range + "\" does not run to the end");
        if (again.content_length && *again.content_length != range->last - range->first + 1)
            return refused(offset, "Content-Length " + std::to_string(*again.content_length) + " disagrees with Content-Range \"" +
                                       again.content_range + "\"");
        return resume_action::append;
    }
    // 200: the whole body again.
    if (first.length != again.content_length)
        return refused(offset, "the body's length changed (the server sent the whole body again with another length)");
    if (ranged && offset > max_skip)
        return refused(offset, "the server sent the whole body again (200), too much to skip");
    return resume_action::skip_prefix;
}

result<void> judge_range(const http_byte_range& want, std::uint64_t offset, const http_response_head& answer) {
    const std::uint64_t first = want.first + offset;
    const auto no = [&](const std::string& why) {
        return make_error(errc::truncated, "cannot read bytes " + std::to_string(first) + "-" + std::to_string(want.last) +
                                               " again: " + why);
    };
    if (answer.status != 206) return no("answered " + std::to_string(answer.status) + " instead of 206");
    if (!want.etag.empty() && answer.etag != want.etag) return no("the ETag changed from " + want.etag + " to " + answer.etag);
    if (!want.last_modified.empty() && answer.last_modified != want.last_modified)
        return no("Last-Modified changed from \"" + want.last_modified + "\" to \"" + answer.last_modified + "\"");
    const auto range = parse_content_range(answer.content_range);
    if (!range) return no("malformed Content-Range \"" + answer.content_range + "\"");
    if (range->first != first || range->last != want.last)
        return no("answered with Content-Range \"" + answer.content_range + "\"");
    if (want.complete && range->complete && *range->complete != *want.complete)
        return no("Content-Range \"" + answer.content_range + "\" names another length than the first " + std::to_string(*want.complete));
    if (answer.content_length && *answer.content_length != range->last - range->first + 1)
        return no("Content-Length " + std::to_string(*answer.content_length) + " disagrees with Content-Range \"" +
                  answer.content_range + "\"");
    return {};
}

}  // namespace cdi
