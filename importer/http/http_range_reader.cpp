#include "importer/http/http_range_reader.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

namespace cdi {

std::vector<range_fetch> plan_range_fetches(std::span<const range_part> parts, std::uint64_t max_gap, std::uint64_t max_span) {
    std::vector<std::size_t> order(parts.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return parts[a].offset < parts[b].offset; });
    std::vector<range_fetch> plan;
    for (const std::size_t i : order) {
        const auto& p = parts[i];
        if (p.out.empty()) continue;
        const std::uint64_t last = p.offset + p.out.size() - 1;
        if (!plan.empty()) {
            auto& f = plan.back();
            const bool near = p.offset <= f.last || p.offset - f.last - 1 <= max_gap;
            const std::uint64_t to = std::max(f.last, last);
            if (near && to - f.first + 1 <= max_span) {
                f.last = to;
                f.parts.push_back(i);
                continue;
            }
        }
        plan.push_back({p.offset, last, {i}});
    }
    return plan;
}

http_range_reader::http_range_reader(http_reread_spec spec, const cancel_token& cancel, http_range_reader_options opts)
    : spec_(std::move(spec)), cancel_(cancel), opts_(opts) {
    // The hooks may share state with the body's own source (a GCS token source renews its token):
    // concurrent requests call them one at a time.
    auto& o = spec_.options;
    auto one_at_a_time = std::make_shared<std::mutex>();
    if (o.authorize) {
        o.authorize = [m = one_at_a_time, f = std::move(o.authorize)](const std::vector<std::string>& challenges) {
            const std::lock_guard lock(*m);
            return f(challenges);
        };
    }
    if (o.sign) {
        o.sign = [m = one_at_a_time, f = std::move(o.sign)](std::string_view method, const http_url& url,
                                                            std::vector<std::pair<std::string, std::string>>& headers) {
            const std::lock_guard lock(*m);
            f(method, url, headers);
        };
    }
}

result<void> http_range_reader::fetch(const range_fetch& f, std::span<const range_part> parts) {
    http_options o = spec_.options;
    o.range = spec_.body;
    o.range->first = f.first;
    o.range->last = f.last;
    requests_.fetch_add(1, std::memory_order_relaxed);
    auto src = http_source::open(spec_.url, std::move(o), cancel_, spec_.tls);
    if (!src) return src.error();
    std::vector<std::byte> buf(256u << 10);
    std::uint64_t at = f.first;
    while (at <= f.last) {
        auto n = (*src)->read(buf);
        if (!n) return n.error();
        // http_source ends a range body at its length: 0 before it is a body cut short, never seen here.
        if (*n == 0) return make_error(errc::truncated, "range " + std::to_string(f.first) + "-" + std::to_string(f.last) + " ended early");
        const std::uint64_t end = at + *n;
        for (const std::size_t i : f.parts) {
            const auto& p = parts[i];
            const std::uint64_t lo = std::max(at, p.offset), hi = std::min(end, p.offset + p.out.size());
            if (lo < hi) std::memcpy(p.out.data() + (lo - p.offset), buf.data() + (lo - at), hi - lo);
        }
        fetched_.fetch_add(*n, std::memory_order_relaxed);
        at = end;
    }
    return {};
}

result<void> http_range_reader::read(std::span<const range_part> parts) {
    const auto plan = plan_range_fetches(parts, opts_.max_gap, opts_.max_span);
    if (plan.empty()) return {};
    // Workers take the next request in offset order; the first failure stops them taking more.
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex m;
    std::optional<error> first_error;
    const auto work = [&] {
        for (std::size_t k; !failed.load() && (k = next.fetch_add(1)) < plan.size();) {
            if (auto r = fetch(plan[k], parts); !r) {
                const std::lock_guard lock(m);
                if (!first_error) first_error = r.error();
                failed.store(true);
            }
        }
    };
    const auto workers = std::min<std::size_t>(std::max(1u, opts_.connections), plan.size());
    {
        std::vector<std::jthread> pool;
        for (std::size_t w = 1; w < workers; ++w) pool.emplace_back(work);
        work();  // this thread is one of them
    }
    if (first_error) return *first_error;
    return {};
}

}  // namespace cdi
