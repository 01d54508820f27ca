#pragma once
// Bytes of an HTTP body read again by position (cdi/range_reader.hpp), for the stream-order qcow2
// decoder: parts it passed over before a table named them (issue 14).
//
// Each read coalesces the parts into spans (neighbours closer than max_gap share one request, a span
// is at most max_span bytes; overlapping parts, such as sectors two compressed clusters share, are
// fetched once) and fetches the spans on up to `connections` connections at once, one GET with
// "Range: bytes=a-b" and If-Range each, through http_source: redirects, proxies, TLS, credentials
// kept to the original origin, request signing, retries and resumes within the span all apply.
// Every answer must be a 206 of exactly the span with the validators of the body's first 200
// (judge_range in http_resume.hpp); anything else ends the read with errc::truncated, final.
// Memory: one 256 KiB buffer per connection; the bytes go straight into the parts.
#include "cdi/progress.hpp"
#include "cdi/range_reader.hpp"
#include "importer/http/http_source.hpp"

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace cdi {

// One request of a read: the bytes [first, last] and the parts it serves (indices into the parts).
struct range_fetch {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::vector<std::size_t> parts;
};

// Pure: the requests that serve parts, in offset order. Parts of size 0 are served by none.
std::vector<range_fetch> plan_range_fetches(std::span<const range_part> parts, std::uint64_t max_gap, std::uint64_t max_span);

struct http_range_reader_options {
    unsigned connections = 4;             // requests in flight at most
    std::uint64_t max_gap = 64u << 10;    // bytes between two parts fetched rather than asked for twice
    std::uint64_t max_span = 1u << 20;    // bytes one request asks for at most (a batch spreads over the connections)
    std::uint64_t batch_bytes = 4u << 20; // what callers gather into one read
};

class http_range_reader final : public range_reader {
public:
    // cancel must outlive the reader.
    http_range_reader(http_reread_spec spec, const cancel_token& cancel, http_range_reader_options opts = {});

    result<void> read(std::span<const range_part> parts) override;
    std::uint64_t batch_bytes() const noexcept override { return opts_.batch_bytes; }
    // Bytes fetched so far, coalescing gaps included.
    std::uint64_t bytes_fetched() const noexcept { return fetched_.load(std::memory_order_relaxed); }
    std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }

private:
    result<void> fetch(const range_fetch& f, std::span<const range_part> parts);

    http_reread_spec spec_;
    const cancel_token& cancel_;
    http_range_reader_options opts_;
    std::atomic<std::uint64_t> fetched_{0};
    std::atomic<std::uint64_t> requests_{0};
};

}  // namespace cdi
