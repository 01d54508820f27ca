#include "server/http_session.hpp"

#include "server/clone/clone_job.hpp"
#include "importer/job/import_job.hpp"
#include "server/body_source.hpp"
#include "server/client_auth.hpp"
#include "server/multipart_source.hpp"
#include "server/request_limits.hpp"
#include "server/request_policy.hpp"
#include "server/status_map.hpp"
#include "server/upload_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <thread>

namespace cdi {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using stream_type = beast::ssl_stream<beast::tcp_stream>;
using parser_type = http::request_parser<http::buffer_body>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr auto header_timeout = std::chrono::seconds(10);
// After an error answered before the body was read: how long unread body bytes are drained so
// the client reads the response instead of a reset.
constexpr auto drain_timeout = std::chrono::seconds(2);

struct reply {
    http::status status = http::status::ok;
    std::string body;
    bool keep_alive = true;
    bool complete_after = false;  // the upload is done: end the process once this is written
};

reply make_reply(http::status s, std::string body = {}, bool keep_alive = true) {
    return reply{s, std::move(body), keep_alive, false};
}

asio::awaitable<bool> write_reply(stream_type& stream, const reply& r, unsigned version) {
    http::response<http::string_body> res{r.status, version};
    if (!r.body.empty()) res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = r.body;
    res.keep_alive(r.keep_alive);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(header_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec;
}

asio::awaitable<void> wait_wake(body_channel& channel) {
    channel.wake().expires_at(asio::steady_timer::time_point::max());
    co_await channel.wake().async_wait(use_tuple);
}

// One upload in flight: the job on its worker thread, fed by the channel. The worker wakes the
// session (a post to its executor) when the job validated the image (progress::on_validated) and
// when it returned (body_channel::close_consumer): the session waits on wake-ups, never on a timer.
struct upload_run {
    upload_plan plan;
    std::optional<std::uint64_t> length;  // Content-Length; none when chunked
    std::shared_ptr<body_channel> channel;
    std::shared_ptr<progress> prog = std::make_shared<progress>();
    std::shared_ptr<std::optional<result<job_result>>> outcome = std::make_shared<std::optional<result<job_result>>>();
    std::jthread worker;
};

// How the body ended, as the pump saw it (and told the channel).
struct body_end {
    bool complete = false;                   // read in full: the channel was finished
    std::optional<request_refusal> framing;  // broken chunked framing: the client's fault (400)
};

// Starts the job on its worker thread and registers the upload as the one a signal cancels.
std::shared_ptr<upload_run> start_job(upload_server& server, stream_type& stream, upload_plan plan,
                                      std::optional<std::uint64_t> length) {
    auto run = std::make_shared<upload_run>();
    run->plan = std::move(plan);
    run->length = length;
    run->channel = std::make_shared<body_channel>(stream.get_executor());
    run->prog->on_validated([channel = run->channel] { channel->notify_io(); });
    spdlog::info("{} upload started, Content-Length {}", run->plan.async ? "Async" : "Sync",
                 length ? std::to_string(*length) : "unknown (chunked)");

    run->worker = std::jthread([&server, channel = run->channel, prog = run->prog, outcome = run->outcome, length,
                                content = run->plan.content, boundary = run->plan.boundary, clone = run->plan.clone] {
        job_spec spec = server.config().spec;
        spec.content = content;
        source_ptr origin = std::make_unique<body_source>(channel, length);
        if (!boundary.empty()) origin = std::make_unique<multipart_source>(std::move(origin), boundary);
        if (clone) {
            clone_job job(std::move(spec), *clone, *prog, server.cancel());
            outcome->emplace(job.run(std::move(origin)));
        } else {
            import_job job(std::move(spec), server.qemu(), *prog, server.cancel());
            outcome->emplace(job.run(std::move(origin)));
        }
        channel->close_consumer();
    });
    // A signal aborts the socket wait, and a wait for validation re-checks server.stopping().
    server.set_active(run->channel, [&stream, channel = run->channel] {
        beast::get_lowest_layer(stream).cancel();
        channel->wake().cancel();
    });
    return run;
}

// Socket → channel until the body is read in full, the socket fails or the job ended; then the
// channel learns how the body ended.
asio::awaitable<body_end> pump_body(upload_server& server, stream_type& stream, beast::flat_buffer& buf,
                                    parser_type& parser, upload_run& run) {
    auto& req = parser.get();
    // Beast reads at most the buffer's free capacity (and 64 KiB): left at the few KiB the headers
    // needed, every TLS record took several reads (bench/upload.sh).
    buf.reserve(64 * 1024);
    body_channel& channel = *run.channel;
    std::uint64_t received = 0;
    boost::system::error_code body_ec;
    auto armed = std::chrono::steady_clock::time_point{};
    const std::chrono::steady_clock::duration idle = server.config().body_idle_timeout;
    const auto rearm_every = std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1), idle / 4);
    while (!parser.is_done() && !body_ec && !channel.consumer_closed()) {
        auto chunk = channel.acquire();
        while (chunk.empty() && !channel.consumer_closed()) {
            co_await wait_wake(channel);
            chunk = channel.acquire();
        }
        if (chunk.empty()) break;  // the job ended before the body did
        std::size_t filled = 0;
        while (filled < chunk.size() && !parser.is_done() && !channel.consumer_closed()) {
            req.body().data = chunk.data() + filled;
            req.body().size = chunk.size() - filled;
            req.body().more = true;
            // The idle timer is re-armed at most once a second (a quarter of a shorter test timeout),
            // not per TLS record: re-arming costs a timerfd_settime syscall, and a 2 GiB upload reads
            // ~130k records. It runs only while a read is pending: while every chunk waits for the
            // disk (wait_wake above) no read is pending, so a storage stall is never idleness.
            if (const auto now = std::chrono::steady_clock::now(); now - armed >= rearm_every) {
                beast::get_lowest_layer(stream).expires_after(idle);
                armed = now;
            }
            // The job may end while this read waits for the client (an image refused at its header):
            // the channel then cancels the read, and the session answers without waiting for bytes.
            channel.set_abort_read([&stream] { beast::get_lowest_layer(stream).cancel(); });
            auto [ec, n] = co_await http::async_read_some(stream, buf, parser, use_tuple);
            channel.set_abort_read({});
            if (ec == http::error::need_buffer) ec = {};
            filled = chunk.size() - req.body().size;
            if (ec == asio::error::operation_aborted && channel.consumer_closed()) break;
            if (ec) {
                body_ec = ec;
                break;
            }
        }
        received += filled;
        channel.push(filled);
    }
    body_end end;
    end.framing = body_ec ? body_refusal(body_ec) : std::nullopt;
    if (end.framing) {
        channel.fail(make_error(errc::bad_request, end.framing->detail));
    } else if (body_ec) {
        std::string what = "the upload body ended after " + std::to_string(received) + " bytes";
        if (run.length) what += " of " + std::to_string(*run.length);
        channel.fail(make_error(errc::truncated, what + ": " + body_ec.message()));
    } else if (parser.is_done()) {
        channel.finish();
        end.complete = true;
    } else {
        channel.fail(make_error(errc::canceled, "the import job ended before the upload body"));
    }
    co_return end;
}

// Async, the body read in full: waits until the job validated the received image (CDI's
// ValidatePause, progress::validated) or ended, or a signal arrived. True: answer 200 now, the job
// continues in the background.
asio::awaitable<bool> await_validation(upload_server& server, upload_run& run) {
    while (!run.channel->consumer_closed() && !server.stopping() && !run.prog->validated())
        co_await wait_wake(*run.channel);
    co_return !run.channel->consumer_closed() && !server.stopping();
}

asio::awaitable<void> await_job_end(upload_server& server, upload_run& run) {
    while (!run.channel->consumer_closed()) co_await wait_wake(*run.channel);
    run.worker.join();
    server.clear_active();
}

// The upload's outcome, settled here and only here once the job returned: the upload_state
// transition, the log, the answer and the process's end. answered: an async upload whose 200 was
// written before the job finished in the background; the process then ends either way and the
// returned reply is unused.
reply settle(upload_server& server, const upload_run& run, const body_end& body, bool answered) {
    if (server.stopping()) {  // a signal canceled the job (fail() leaves an answered upload processing)
        server.state().fail();
        server.shutdown(1);
        return make_reply(http::status::service_unavailable, {}, false);
    }
    // Broken chunked framing is the client's fault, answered 400 (never the job's 500).
    if (body.framing) {
        server.state().fail();
        const http_error he = map_request_fault(body.framing->fault, body.framing->detail);
        spdlog::info("Bad request: {}", he.body);
        return make_reply(static_cast<http::status>(he.status), he.body, false);
    }
    const result<job_result>& r = **run.outcome;
    const bool clone = run.plan.clone.has_value();
    if (r) {
        if (!answered)
            spdlog::info("{} wrote {} bytes of {} image ({} bytes of data)", clone ? "Clone" : "Upload",
                         r->virtual_size, qemu_format_name(r->format), r->data_bytes);
        server.state().succeed(r->preallocation_applied, clone);
        if (answered) {
            server.complete();
            return {};
        }
        reply ok = make_reply(http::status::ok, {}, false);
        ok.complete_after = true;  // the process ends once the 200 is written
        return ok;
    }
    const error e = attribute_to_body(r.error(), body.complete);
    if (answered) {
        // CDI exits 1 without a message here; the client already had its 200.
        server.fail("Unable to process data: " + e.message());
        return {};
    }
    server.state().fail();
    const http_error he = map_error(e);
    spdlog::error("{}", he.body);
    return make_reply(static_cast<http::status>(he.status), he.body, body.complete);
}

// The upload: body → channel → job on a worker thread. Sync answers once the job returned; async
// answers 200 once the whole body is in and the job validated the image (before conversion), and
// the job continues in the background (finish_background, after the 200 is written). A
// host-assisted clone (sync only) runs clone_job on the body instead of import_job.
asio::awaitable<reply> run_upload(upload_server& server, stream_type& stream, beast::flat_buffer& buf,
                                  parser_type& parser, upload_plan plan, std::shared_ptr<upload_run>& background) {
    std::optional<std::uint64_t> length;
    if (auto cl = parser.content_length()) length = *cl;
    auto run = start_job(server, stream, std::move(plan), length);
    const body_end body = co_await pump_body(server, stream, buf, parser, *run);
    if (run->plan.async && body.complete) {
        if (co_await await_validation(server, *run)) {
            spdlog::info("Async upload transferred; processing continues in the background");
            server.state().pause();
            background = run;
            co_return make_reply(http::status::ok, {}, false);
        }
    }
    co_await await_job_end(server, *run);
    co_return settle(server, *run, body, false);
}

// After an async upload's 200: the rest of the job decides the process's outcome.
asio::awaitable<void> finish_background(upload_server& server, upload_run& run) {
    co_await await_job_end(server, run);
    settle(server, run, body_end{true, std::nullopt}, true);
}

// Logs why a request was refused, as CDI does for these three.
void log_refusal(const policy_reply& r, stream_type& stream) {
    if (r.status == 401)
        spdlog::info("Unauthorized upload request (client certificate CN \"{}\")", peer_common_name(stream.native_handle()));
    if (r.status == 503) spdlog::info("Got concurrent upload request");
    if (r.status == 409) spdlog::info("Got upload request after already done");
}

asio::awaitable<reply> handle(upload_server& server, stream_type& stream, beast::flat_buffer& buf,
                              parser_type& parser, std::shared_ptr<upload_run>& background) {
    auto& req = parser.get();
    const bool authorized = client_authorized(stream.native_handle(), server.config().client_name);
    decision d = decide(req, server.state().current(), authorized);
    // decide() saw the state idle; begin() takes it atomically, and a lost race is decided again.
    if (std::holds_alternative<upload_plan>(d) && server.state().begin() != upload_state::admit::ok)
        d = decide(req, server.state().current(), authorized);
    if (auto* refused = std::get_if<policy_reply>(&d)) {
        log_refusal(*refused, stream);
        co_return make_reply(static_cast<http::status>(refused->status), std::move(refused->body));
    }
    upload_plan& plan = std::get<upload_plan>(d);
    if (plan.expect_continue) {
        http::response<http::empty_body> cont{http::status::continue_, req.version()};
        beast::get_lowest_layer(stream).expires_after(header_timeout);
        auto [ec, n] = co_await http::async_write(stream, cont, use_tuple);
        if (ec) {
            server.state().fail();
            co_return make_reply(http::status::internal_server_error, {}, false);
        }
    }
    co_return co_await run_upload(server, stream, buf, parser, std::move(plan), background);
}

// Reads and drops what the client still sends, for a short while, so that closing does not
// reset the connection before the client has read our answer.
asio::awaitable<void> drain(stream_type& stream) {
    std::array<char, 64 * 1024> sink{};
    const auto until = std::chrono::steady_clock::now() + drain_timeout;
    beast::get_lowest_layer(stream).expires_at(until);
    for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
        if (ec) break;
    }
}

}  // namespace

asio::awaitable<void> run_session(upload_server& server, asio::ip::tcp::socket socket, connection_slot slot) {
    stream_type stream(beast::tcp_stream(std::move(socket)), server.tls());
    beast::get_lowest_layer(stream).expires_at(slot.handshake_deadline());
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (hec) {
        spdlog::debug("TLS handshake failed: {}", hec.message());
        co_return;
    }
    slot.handshake_done(stream.native_handle());
    beast::flat_buffer buf;  // 64 KiB once an upload starts (pump_upload), not per idle connection
    for (;;) {
        parser_type parser;
        parser.header_limit(request_limits::max_header_bytes);
        parser.body_limit(boost::none);
        beast::get_lowest_layer(stream).expires_after(header_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buf, parser, use_tuple);
        // A request over a header limit or with malformed framing (conflicting, duplicate or
        // negative Content-Length, Content-Length with Transfer-Encoding) is answered and the
        // connection closes: nothing after it can be trusted to start a request.
        std::optional<request_refusal> refusal = ec ? read_refusal(ec, parser.get(), buf.data())
                                                    : header_refusal(parser.get());
        if (refusal) {
            const http_error he = map_request_fault(refusal->fault, refusal->detail);
            spdlog::info("Bad request: {}", he.body);
            co_await write_reply(stream, make_reply(static_cast<http::status>(he.status), he.body, false), 11);
            break;
        }
        if (ec == beast::error::timeout) spdlog::info("Closing a connection: request header timeout");
        if (ec) break;
        std::shared_ptr<upload_run> background;
        reply r = co_await handle(server, stream, buf, parser, background);
        if (server.stopping() && !r.complete_after) co_return;
        const bool body_unread = !parser.is_done();
        if (body_unread || !parser.get().keep_alive()) r.keep_alive = false;  // or the client's Connection: close
        const bool written = co_await write_reply(stream, r, parser.get().version());
        if (r.complete_after) {
            server.complete();
            co_return;
        }
        if (background) {
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
            co_await stream.async_shutdown(use_tuple);
            co_await finish_background(server, *background);
            co_return;
        }
        if (written && body_unread) co_await drain(stream);
        if (!written || !r.keep_alive) break;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
    co_await stream.async_shutdown(use_tuple);
}

}  // namespace cdi
