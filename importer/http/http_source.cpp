#include "importer/http/http_source.hpp"

#include "cdi/ascii.hpp"

#include <isa-l/crc64.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <thread>

namespace cdi {
namespace {

namespace http = boost::beast::http;

// A server that ignores a Range request and sends the whole body again is tolerated only when the
// part to discard is this small; past it, re-downloading silently would cost too much.
constexpr std::uint64_t max_skip_on_resume = 1024 * 1024;
constexpr std::size_t skip_buffer_size = 64 * 1024;
constexpr auto max_backoff = std::chrono::seconds(30);

bool is_redirect(unsigned status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_transient(const error& e) {
    return e.is(errc::source_unreachable) || e.is(errc::timeout) || e.is(errc::truncated);
}

std::uint64_t crc64(std::uint64_t crc, std::span<const std::byte> data) {
    return crc64_ecma_refl(crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

}  // namespace

result<std::unique_ptr<http_source>> http_source::open(std::string_view url, http_options opts, const cancel_token& cancel) {
    auto tls = tls_client_context::create(opts);
    if (!tls) return tls.error();
    return open(url, std::move(opts), cancel, std::make_shared<tls_client_context>(std::move(*tls)));
}

result<std::unique_ptr<http_source>> http_source::open(std::string_view url, http_options opts, const cancel_token& cancel,
                                                       std::shared_ptr<tls_client_context> tls) {
    if (!tls) return open(url, std::move(opts), cancel);
    auto origin = http_url::parse(url);
    if (!origin) return origin.error();
    auto proxies = proxy_selector::create(opts.proxy);
    if (!proxies) return proxies.error();
    std::unique_ptr<http_source> src(
        new http_source(std::move(*origin), std::move(opts), std::move(tls), std::move(*proxies), cancel));
    if (src->opts_.probe_with_head && !src->opts_.post && !src->opts_.range) {
        if (auto e = src->probe_head()) return *e;
    }
    if (auto r = src->with_retries([s = src.get()] { return s->start_body(); }); !r) return r.error();
    return src;
}

http_source::http_source(http_url origin, http_options opts, std::shared_ptr<tls_client_context> tls, proxy_selector proxies,
                         const cancel_token& cancel)
    : origin_(std::move(origin)), final_(origin_), opts_(std::move(opts)), credentials_(opts_.credentials),
      authorization_(opts_.authorization), cancel_(&cancel), tls_(std::move(tls)), proxies_(std::move(proxies)) {
    if (!credentials_ && origin_.userinfo()) credentials_ = origin_.userinfo();
    for (const auto& line : opts_.extra_headers) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;  // CDI ignores a line without ':'
        auto name = std::string(ascii::trim(std::string_view(line).substr(0, colon), ascii::ows));
        auto value = std::string(ascii::trim(std::string_view(line).substr(colon + 1), ascii::ows));
        if (name.empty() || name.find_first_of("\r\n") != std::string::npos || value.find_first_of("\r\n") != std::string::npos) {
            spdlog::warn("ignoring a malformed extra header line");
            continue;
        }
        extra_headers_.emplace_back(std::move(name), std::move(value));
    }
}

http_source::~http_source() = default;

http_request_spec http_source::spec_for(const http_url& url, http::verb method) const {
    http_request_spec spec;
    spec.method = method;
    spec.headers.emplace_back("User-Agent", opts_.user_agent);
    if (url.same_origin(origin_)) {
        for (const auto& h : extra_headers_) spec.headers.push_back(h);
        if (!authorization_.empty()) spec.headers.emplace_back("Authorization", authorization_);
        else if (credentials_) spec.headers.emplace_back("Authorization", basic_authorization(*credentials_));
    }
    if (opts_.range && method == http::verb::get) {
        // A part of a body streamed earlier, held to the same representation.
        spec.headers.emplace_back("Range", "bytes=" + std::to_string(opts_.range->first + offset_) + "-" + std::to_string(opts_.range->last));
        const body_validators was{opts_.range->complete, opts_.range->etag, opts_.range->last_modified};
        if (const auto validator = was.if_range(); !validator.empty()) spec.headers.emplace_back("If-Range", validator);
    } else if (const auto validator = first_.if_range(); method == http::verb::get && offset_ > 0 && !validator.empty()) {
        // Without a validator a resume asks for the whole body again (http_resume.hpp).
        spec.headers.emplace_back("Range", "bytes=" + std::to_string(offset_) + "-");
        spec.headers.emplace_back("If-Range", validator);
    }
    if (method == http::verb::post && opts_.post) {
        spec.headers.emplace_back("Content-Type", opts_.post->content_type);
        spec.body = opts_.post->data;
    }
    if (opts_.sign && url.same_origin(origin_)) opts_.sign(boost::beast::http::to_string(method), url, spec.headers);
    return spec;
}

std::optional<http_source::failure> http_source::fetch(http::verb method) {
    http_url url = origin_;
    const auto connect = std::min(opts_.connect_timeout, opts_.idle_timeout);
    // The HEAD is only a probe: a server slow to answer it must not hold the GET back for long.
    const http_timeouts timeouts{connect, method == http::verb::head ? connect : opts_.idle_timeout};
    unsigned authorizations = 0;
    for (unsigned hops = 0;; ++hops) {
        conn_ = std::make_unique<http_connection>(ioc_, tls_.get(), timeouts, cancel_, opts_.user_agent);
        if (auto r = conn_->request(url, proxies_.proxy_for(url), spec_for(url, method)); !r)
            return failure{r.error(), is_transient(r.error())};
        const auto& head = conn_->head();
        // Twice: a cached token may be stale, and a fresh one may still be refused once (a token
        // service whose clock runs ahead); a third 401 is final.
        if (head.status == 401 && opts_.authorize && authorizations < 2 && url.same_origin(origin_)) {
            auto value = opts_.authorize(head.www_authenticate);
            if (!value) return failure{value.error(), false};
            authorization_ = std::move(*value);
            ++authorizations;
            --hops;  // the same request again, not a redirect
            continue;
        }
        if (!is_redirect(head.status) || head.location.empty()) {
            final_ = url;
            return std::nullopt;
        }
        if (hops >= opts_.max_redirects)
            return failure{make_error(errc::source_http, "stopped after " + std::to_string(opts_.max_redirects) +
                                                             " redirects at " + url.to_string()),
                           false};
        auto next = url.resolve(head.location);
        if (!next) return failure{next.error(), false};
        url = std::move(*next);
    }
}

std::optional<error> http_source::probe_head() {
    auto f = fetch(http::verb::head);
    if (!f && conn_->head().status == 200) head_length_ = conn_->head().content_length;
    conn_.reset();
    if (!f) return std::nullopt;
    // A proxy that broke its protocol is not a failed probe: it would see the GET too.
    if (f->err.is(errc::proxy)) return f->err;
    spdlog::info("HEAD {} failed ({}); continuing with GET", origin_.to_string(), f->err.message());
    return std::nullopt;
}

error http_source::status_error(const http_response_head& head) const {
    const auto code = head.status == 401 || head.status == 403 ? errc::auth : errc::source_http;
    return make_error(code, "expected status code 200, got " + std::to_string(head.status) + ". Status: " + head.status_text);
}

std::optional<http_source::failure> http_source::start_body() {
    if (auto f = fetch(opts_.post ? http::verb::post : http::verb::get)) return f;
    const auto& head = conn_->head();
    if (opts_.range) {
        if (head.status >= 500 || head.status == 401 || head.status == 403) return failure{status_error(head), head.status >= 500};
        if (auto judged = judge_range(*opts_.range, offset_, head); !judged)
            return failure{error{judged.error().code, final_.authority() + ": " + judged.error().context}, false};
        body_length_ = opts_.range->last - opts_.range->first + 1;
        accepts_ranges_ = true;  // resumed within the range
        return std::nullopt;
    }
    if (offset_ == 0) {
        if (head.status != 200) {
            auto e = status_error(head);
            if (head.status < 500 && opts_.error_detail && final_.same_origin(origin_)) {
                if (auto words = opts_.error_detail(error_body()); !words.empty()) e.context += ": " + words;
            }
            return failure{e, head.status >= 500};
        }
        body_length_ = head.content_length;
        accepts_ranges_ = !opts_.post && ascii::icontains(head.accept_ranges, "bytes");
        content_type_ = head.content_type;
        first_ = body_validators::of(head);
        return std::nullopt;
    }
    if (head.status != 200 && head.status != 206) return failure{status_error(head), head.status >= 500};
    auto action = judge_resume(first_, offset_, head, max_skip_on_resume);
    if (!action) return failure{error{action.error().code, final_.authority() + ": " + action.error().context}, false};
    if (*action == resume_action::skip_prefix) return skip_prefix();
    return std::nullopt;
}

std::string http_source::error_body() {
    std::string body;
    std::array<std::byte, 4096> buf{};
    while (body.size() < buf.size()) {
        auto n = conn_->read_body(std::span(buf).first(buf.size() - body.size()));
        if (!n || *n == 0) break;
        body.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    return body;
}

std::optional<http_source::failure> http_source::skip_prefix() {
    std::vector<std::byte> scratch(static_cast<std::size_t>(std::min<std::uint64_t>(offset_, skip_buffer_size)));
    std::uint64_t left = offset_;
    std::uint64_t crc = 0;
    while (left > 0) {
        auto n = conn_->read_body(std::span(scratch).first(static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.size()))));
        if (!n) return failure{n.error(), is_transient(n.error())};
        if (*n == 0) return failure{make_error(errc::truncated, "resent body from " + final_.authority() + " ended early"), true};
        crc = crc64(crc, std::span(scratch).first(*n));
        left -= *n;
    }
    // The bytes already delivered cannot be taken back: a body that changed under us is final.
    if (crc != delivered_crc_)
        return failure{make_error(errc::truncated, "cannot resume the body from " + final_.authority() + ": the first " +
                                                       std::to_string(offset_) + " bytes sent again differ from those delivered (the file changed)"),
                       false};
    return std::nullopt;
}

result<void> http_source::backoff(unsigned attempt) {
    auto wait = opts_.retry_backoff * (1LL << std::min(attempt - 1, 20u));
    wait = std::min<std::chrono::milliseconds>(wait, max_backoff);
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
        if (cancel_.canceled()) return make_error(errc::canceled, "canceled while waiting to retry " + final_.authority());
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - std::chrono::steady_clock::now(),
                                                                                    std::chrono::milliseconds(100)));
    }
    return {};
}

result<void> http_source::with_retries(const std::function<std::optional<failure>()>& attempt) {
    for (;;) {
        auto f = attempt();
        if (!f) return {};
        conn_.reset();
        if (!f->transient || failures_ >= opts_.max_retries) return f->err;
        ++failures_;
        spdlog::warn("transient failure ({}); retry {} of {}", f->err.message(), failures_, opts_.max_retries);
        if (auto b = backoff(failures_); !b) return b;
    }
}

result<std::size_t> http_source::read(std::span<std::byte> out) {
    if (done_ || out.empty()) return std::size_t{0};
    for (;;) {
        if (cancel_.canceled()) return make_error(errc::canceled, "download from " + final_.authority() + " canceled");
        if (!conn_) {
            if (auto r = with_retries([this] { return start_body(); }); !r) return r.error();
        }
        auto n = conn_->read_body(out);
        if (n && *n > 0) {
            if (body_length_ && *n > *body_length_ - offset_) {
                conn_.reset();
                return make_error(errc::source_http, "body from " + final_.authority() + " is longer than the declared " +
                                                         std::to_string(*body_length_) + " bytes");
            }
            delivered_crc_ = crc64(delivered_crc_, out.first(*n));
            offset_ += *n;
            failures_ = 0;
            return n;
        }
        const auto total = body_length_ ? " of " + std::to_string(*body_length_) : std::string();
        if (n && (!body_length_ || offset_ >= *body_length_)) {
            done_ = true;
            conn_.reset();
            return std::size_t{0};
        }
        error e = n ? make_error(errc::truncated, "") : n.error();
        conn_.reset();
        if (!is_transient(e)) return e;
        if (e.is(errc::truncated))
            e.context = "body from " + final_.authority() + " cut short at byte " + std::to_string(offset_) + total;
        if (failures_ >= opts_.max_retries) return e;
        if (offset_ > 0 && !accepts_ranges_) {  // keeps the class: a stall stays errc::timeout
            e.context += "; cannot resume at byte " + std::to_string(offset_) + ": the server does not accept range requests";
            return e;
        }
        ++failures_;
        spdlog::warn("transient failure ({}); retry {} of {}", e.message(), failures_, opts_.max_retries);
        if (auto b = backoff(failures_); !b) return b.error();
    }
}

std::optional<http_reread_spec> http_source::reread_spec() const {
    if (!accepts_ranges_ || opts_.post || opts_.range || first_.if_range().empty()) return std::nullopt;
    http_reread_spec spec{origin_.to_string(), opts_, {0, 0, first_.length, first_.etag, first_.last_modified}, tls_};
    spec.options.credentials = credentials_;  // those of the URL's userinfo included
    spec.options.authorization = authorization_;
    spec.options.probe_with_head = false;
    spec.options.error_detail = nullptr;
    return spec;
}

std::optional<std::uint64_t> http_source::size_hint() const { return body_length_ ? body_length_ : head_length_; }

}  // namespace cdi
