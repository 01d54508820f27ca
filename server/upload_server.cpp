#include "server/upload_server.hpp"

#include "importer/pod/listener.hpp"
#include "importer/pod/termination_message.hpp"
#include "server/connection_gate.hpp"
#include "server/tls_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <stdexcept>

namespace cdi {

namespace asio = boost::asio;
using asio::ip::tcp;

upload_server::upload_server(upload_config cfg)
    : cfg_(std::move(cfg)),
      tls_(make_tls_context(cfg_)),
      gate_(connection_slots::limits{}, cfg_.client_name),
      acceptor_(io_),
      signals_(io_, SIGTERM, SIGINT) {
    auto shown = listen_tcp(acceptor_, cfg_.listen_address, cfg_.listen_port);
    if (!shown) throw std::runtime_error(shown.error().message());
    port_ = acceptor_.local_endpoint().port();
    spdlog::info("listening on {}", *shown);
}

upload_server::~upload_server() = default;

int upload_server::run() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (!ec) on_signal(signo);
    });
    asio::co_spawn(io_, accept_loop(), asio::detached);
    if (cfg_.deadline) asio::co_spawn(io_, deadline_loop(), asio::detached);
    io_.run();
    return exit_code_;
}

asio::awaitable<void> upload_server::accept_loop() {
    accept_backoff backoff;
    while (!stopping_) {
        auto sock = co_await accept_next(acceptor_, backoff, "upload server");
        if (!sock || stopping_) co_return;
        // The slot is taken here, before the next accept, so the caps hold however fast they come.
        if (auto slot = gate_.open(sock->native_handle()))
            asio::co_spawn(io_, serve_connection(*this, std::move(*sock), std::move(*slot)), asio::detached);
        // else: every held connection is an authenticated client; this one closes
    }
}

asio::awaitable<void> upload_server::deadline_loop() {
    asio::system_timer timer(io_);
    timer.expires_at(*cfg_.deadline);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    // An upload in flight finishes first (CDI polls every 2 s).
    while (!stopping_ && !state_.idle()) {
        if (state_.current() == upload_state::state::done) co_return;
        timer.expires_after(std::chrono::seconds(2));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (stopping_) co_return;
    spdlog::info("Deadline passed");
    termination_message msg;
    msg.deadline_passed = true;
    msg.message = "Deadline Passed";
    auto json = msg.to_json();
    finish_with_message(json ? *json : std::string(R"({"deadlinePassed":true,"message":"Deadline Passed"})"));
}

void upload_server::on_signal(int signo) {
    spdlog::info("received signal {}, canceling", signo);
    cancel_.cancel();
    if (active_) {
        active_->fail(make_error(errc::canceled, "the upload server received signal " + std::to_string(signo)));
        if (abort_active_) abort_active_();
        stopping_ = true;  // the session ends the process once the job has unwound
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        return;
    }
    shutdown(1);
}

void upload_server::set_active(std::shared_ptr<body_channel> channel, std::function<void()> abort) {
    active_ = std::move(channel);
    abort_active_ = std::move(abort);
}

void upload_server::clear_active() {
    active_.reset();
    abort_active_ = nullptr;
}

void upload_server::complete() {
    termination_message msg;
    msg.preallocation_applied = state_.preallocation_applied();
    msg.message = state_.clone_target() ? "Clone Complete" : "Upload Complete";
    auto json = msg.to_json();
    spdlog::info("{}", msg.message);
    finish_with_message(json ? *json : R"({"message":")" + msg.message + R"("})");
}

void upload_server::fail(const std::string& text) {
    spdlog::error("{}", text);
    if (auto r = write_termination_file(cfg_.termination_log, text); !r) spdlog::error("{}", r.error().message());
    shutdown(1);
}

void upload_server::finish_with_message(const std::string& json) {
    if (auto r = write_termination_file(cfg_.termination_log, json); !r) {
        spdlog::error("{}", r.error().message());
        shutdown(1);
        return;
    }
    shutdown(0);
}

void upload_server::shutdown(int exit_code) {
    exit_code_ = exit_code;
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    signals_.cancel(ignored);
    io_.stop();
}

}  // namespace cdi
