#pragma once
// The upload pod's HTTPS server (contract section 6): one io_context thread, one coroutine per
// connection (http_session), the import job on a worker thread per upload. Owns the listener, the
// request state machine, SIGTERM/SIGINT handling and DEADLINE, and ends the process's work:
//   upload done → termination message {"preallocationApplied":..,"message":"Upload Complete"}, exit 0
//   (a host-assisted clone: "Clone Complete")
//   DEADLINE while idle → {"deadlinePassed":true,"message":"Deadline Passed"}, exit 0
//   SIGTERM → the running job is canceled and unwinds (RAII removes scratch and partial target), exit 1
#include "cdi/progress.hpp"
#include "convert/qemu_img.hpp"
#include "server/body_channel.hpp"
#include "server/connection_gate.hpp"
#include "server/upload_config.hpp"
#include "server/upload_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>

namespace cdi {

class upload_server {
public:
    // Builds the TLS context (std::runtime_error "E_TLS_CONFIG: ..." on bad material) and binds the
    // listener (importer/pod/listener.hpp; std::runtime_error "E_IO: cannot listen on ..." or
    // "E_BAD_REQUEST: invalid listen address ..."); logs "listening on <addr>:<port>" ("[::]:8443").
    explicit upload_server(upload_config cfg);
    upload_server(const upload_server&) = delete;
    upload_server& operator=(const upload_server&) = delete;
    ~upload_server();

    // Serves until the upload is done, the deadline passes or a signal arrives; the exit status.
    int run();
    std::uint16_t port() const { return port_; }

    // For http_session (io thread only).
    const upload_config& config() const { return cfg_; }
    boost::asio::ssl::context& tls() { return tls_; }
    upload_state& state() { return state_; }
    connection_gate& gate() { return gate_; }
    const qemu_img& qemu() const { return qemu_; }
    const cancel_token& cancel() const { return cancel_; }
    bool stopping() const { return stopping_; }
    // The upload in flight: a signal fails its channel and aborts its socket wait.
    void set_active(std::shared_ptr<body_channel> channel, std::function<void()> abort);
    void clear_active();
    // After the upload's 200 was written: termination message, stop, exit 0.
    void complete();
    // After an async upload failed in the background: the text as termination message, exit 1.
    void fail(const std::string& text);
    // Stop serving with this exit status (no termination message).
    void shutdown(int exit_code);

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> deadline_loop();
    void on_signal(int signo);
    void finish_with_message(const std::string& json);

    upload_config cfg_;
    boost::asio::ssl::context tls_;
    upload_state state_;
    connection_gate gate_;
    qemu_img qemu_;
    cancel_token cancel_;
    bool stopping_ = false;
    int exit_code_ = 1;
    std::uint16_t port_ = 0;
    std::shared_ptr<body_channel> active_;
    std::function<void()> abort_active_;
    // Declared after everything sessions use: destroyed first, with the suspended coroutines.
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::signal_set signals_;
};

}  // namespace cdi
