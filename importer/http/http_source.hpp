#pragma once
// The importer's HTTP(S) origin (contract section 4): follows redirects, streams the body of a GET
// that must end in 200, and hides transient failures (refused/reset connections, 5xx, a body cut
// short, an idle stall) behind bounded retries with exponential backoff, resuming after the first
// byte when the server accepts ranges: with Range and If-Range when the body has a validator, from
// byte 0 with the re-sent prefix verified when it has none (http_resume.hpp).
//
// Unlike CDI, credentials and extra headers go only to the original origin (scheme, host, port),
// never across a redirect to another one (security.md F2).
#include "cdi/progress.hpp"
#include "cdi/source.hpp"
#include "importer/http/http_connection.hpp"
#include "importer/http/http_options.hpp"
#include "importer/http/http_resume.hpp"
#include "importer/http/http_url.hpp"
#include "importer/http/proxy_selector.hpp"
#include "importer/http/tls_client_context.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdi {

// What it takes to read bytes of a body again by position (http_range_reader.hpp): the original
// URL and options (credentials, tokens and signing stay bound to the original origin), and the
// validators every answer must carry.
struct http_reread_spec {
    std::string url;
    http_options options;
    http_byte_range body;  // first and last unset: filled per request
    // The body's own TLS context (its trust, from the same options), shared by every request instead
    // of loading the system roots again for each (OpenSSL's contexts take concurrent connections).
    std::shared_ptr<tls_client_context> tls;
};

class http_source final : public source {
public:
    // Resolves redirects and opens the body: an optional HEAD (failure tolerated, as CDI) and a GET
    // that must end in 200. Errors: errc::source_http with context exactly CDI's "expected status
    // code 200, got 404. Status: 404 Not Found" (errc::auth for 401/403, same text),
    // errc::source_unreachable (DNS, refused, connect timeout; names host:port), errc::tls_verify,
    // errc::tls_config (unreadable CA dir), errc::bad_request (bad URL or proxy URL),
    // errc::timeout (no response within idle_timeout), errc::canceled, errc::proxy (a proxy that
    // sent bytes after its CONNECT answer: final). cancel must outlive the source.
    static result<std::unique_ptr<http_source>> open(std::string_view url, http_options opts, const cancel_token& cancel);
    // The same with a TLS context made once from the same options (http_reread_spec::tls).
    static result<std::unique_ptr<http_source>> open(std::string_view url, http_options opts, const cancel_token& cancel,
                                                     std::shared_ptr<tls_client_context> tls);

    http_source(const http_source&) = delete;
    http_source& operator=(const http_source&) = delete;
    ~http_source() override;

    // Resumes transparently; a body that cannot be completed is errc::truncated naming the offset.
    result<std::size_t> read(std::span<std::byte> out) override;
    // Content-Length of the full body (the GET's, else the HEAD's) when known.
    std::optional<std::uint64_t> size_hint() const override;
    // Any thread: the read in progress, and every later one, ends within 100 ms as canceled.
    void interrupt() noexcept override { cancel_.cancel(); }
    bool accepts_ranges() const noexcept { return accepts_ranges_; }
    const std::string& content_type() const noexcept { return content_type_; }
    // The URL the body came from, after redirects, without userinfo.
    std::string final_url() const { return final_.to_string(); }
    // How to read bytes of this body again: only when its origin takes ranges and its first 200
    // carried a validator (a strong ETag or Last-Modified) that an If-Range can hold it to; a GET.
    std::optional<http_reread_spec> reread_spec() const;

private:
    struct failure {
        error err;
        bool transient;
    };

    http_source(http_url origin, http_options opts, std::shared_ptr<tls_client_context> tls, proxy_selector proxies,
                const cancel_token& cancel);

    http_request_spec spec_for(const http_url& url, boost::beast::http::verb method) const;
    // One request chain: the request and its redirects. On success conn_ holds the final response.
    std::optional<failure> fetch(boost::beast::http::verb method);
    std::optional<failure> start_body();  // GET from offset_ (a Range request when offset_ > 0)
    std::optional<failure> skip_prefix();
    std::string error_body();  // the first 4 KiB of a refusal's body (http_options::error_detail)
    result<void> with_retries(const std::function<std::optional<failure>()>& attempt);
    result<void> backoff(unsigned attempt);
    std::optional<error> probe_head();  // failures are tolerated, but for errc::proxy
    error status_error(const http_response_head& head) const;

    http_url origin_;
    http_url final_;
    http_options opts_;
    std::vector<std::pair<std::string, std::string>> extra_headers_;
    std::optional<basic_credentials> credentials_;
    std::string authorization_;  // replaces credentials_ when set (http_options::authorization/authorize)
    cancel_token cancel_;  // the job's token, and interrupt()'s
    boost::asio::io_context ioc_;  // private: every wait of this source runs here, on the caller's thread
    std::shared_ptr<tls_client_context> tls_;
    proxy_selector proxies_;
    std::unique_ptr<http_connection> conn_;

    std::optional<std::uint64_t> body_length_;  // the full body's Content-Length, from the first 200
    std::optional<std::uint64_t> head_length_;
    bool accepts_ranges_ = false;
    std::string content_type_;
    body_validators first_;           // the first 200's length and validators, for resumes
    std::uint64_t offset_ = 0;        // body bytes delivered to the caller
    std::uint64_t delivered_crc_ = 0; // CRC-64 of those bytes: a re-sent prefix must match it
    unsigned failures_ = 0;     // consecutive transient failures since the last progress
    bool done_ = false;
};

}  // namespace cdi
