#pragma once
// The HTTPS Prometheus endpoint the controller scrapes for progress (contract section 7). Started
// at importer (and cloner) start-up; serves on its own thread and io_context; every GET or HEAD on
// every path answers
//   # HELP <name> The import progress in percentage
//   # TYPE <name> counter
//   <name>{ownerUID="<uid>"} 45.34
// with Content-Type "text/plain; version=0.0.4; charset=utf-8" (as Go's promhttp). The value comes
// from the callback, clamped to 0..100, truncated (not rounded) to two decimals so 99.999 never
// reads as "100.00" (the import populator treats values starting with 100 as done), and never
// decreases between scrapes, as CDI's counter only ever grows.
//
// TLS: a self-signed EC P-256 certificate with CN "cloner_target", valid one year, generated in
// memory at the first start() (the controller scrapes with InsecureSkipVerify). TLS >= 1.2.
// Limits: a connection that sends nothing is closed after first_byte_timeout (2 s); once it has,
// the TLS handshake plus a whole request must arrive within header_timeout (CDI's
// ReadHeaderTimeout, 10 s), which also bounds idle keep-alive; headers over max_header_bytes get
// 431; malformed requests get 400 and the connection closes; methods other than GET/HEAD get 405.
// At most max_connections at once: when all are taken, a newcomer takes the slot of the oldest
// connection that has sent nothing, else of one whose handshake or request has lasted stall_grace
// or more (metrics_slot_policy.hpp), else it is closed on accept. So idle or stalled connections
// cannot keep the controller's scrape out (issue 19.3).
//
// A failure to listen is returned by start(); callers log it and carry on (CDI's endpoint failing
// does not stop the import). stop() and the destructor close everything and join the thread.
// start()/stop()/port() are for one controlling thread.
#include "cdi/error.hpp"
#include "importer/metrics/metrics_slot_policy.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace cdi {

inline constexpr std::string_view import_progress_metric = "kubevirt_cdi_import_progress_total";
inline constexpr std::string_view clone_progress_metric = "kubevirt_cdi_clone_progress_total";

struct metrics_server_options {
    // Empty: every interface, IPv6 and IPv4 ("::" dual-stack, or 0.0.0.0 where IPv6 is off), like
    // Go's ":8443". Otherwise a literal IP address.
    std::string address;
    // 0 binds any free port (tests); port() tells which.
    std::uint16_t port = 8443;
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds first_byte_timeout = std::chrono::seconds(2);
    std::chrono::milliseconds stall_grace = std::chrono::seconds(2);
    std::size_t max_connections = 16;
    std::uint32_t max_header_bytes = 8 * 1024;
};

class metrics_server {
public:
    // metric_name: import_progress_metric or clone_progress_metric; the HELP text follows it.
    // value: the progress in percent, called on the server thread (must be thread-safe, e.g.
    // progress::percent()).
    metrics_server(std::string metric_name, std::string owner_uid, std::function<double()> value,
                   metrics_server_options opts = {});
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;
    ~metrics_server();

    // Binds, listens and starts the server thread. Errors: errc::io naming the address when it
    // cannot listen, errc::bad_request for an unparsable address or a second start(),
    // errc::tls_config when the certificate cannot be made.
    result<void> start();
    // Closes the listener and every connection and joins the thread; start() may be called again.
    void stop() noexcept;

    bool running() const noexcept { return runtime_ != nullptr; }
    // The bound port while running, else 0.
    std::uint16_t port() const noexcept { return port_; }
    // Connections being served now (0..max_connections).
    std::size_t active_connections() const noexcept { return active_.load(std::memory_order_relaxed); }

    // The exposition text for the current value (raises the never-decreasing floor). Thread-safe.
    std::string render();

    static std::string help_for(std::string_view metric_name);
    // Prometheus label-value escaping: backslash, double quote and newline.
    static std::string escape_label_value(std::string_view v);

private:
    struct runtime;
    using tcp = boost::asio::ip::tcp;

    // One served connection as the slot policy sees it, and how to close it. Server thread only.
    struct connection {
        metrics_slot view;
        tcp::socket* socket = nullptr;  // set by its session while it runs
        bool closing = false;           // evicted: closed and unwinding, no longer counted by the policy
    };

    // One registered, counted connection; a session's parameter, so it is released with the
    // coroutine frame even when the session is destroyed before it first runs (stop()).
    class connection_slot {
    public:
        explicit connection_slot(metrics_server& server);
        connection_slot(connection_slot&& o) noexcept : server_(std::exchange(o.server_, nullptr)), it_(o.it_) {}
        connection_slot& operator=(connection_slot&&) = delete;
        ~connection_slot();
        connection& get() const noexcept { return *it_; }

    private:
        metrics_server* server_;
        std::list<connection>::iterator it_;
    };

    // Whether a newcomer may be served, closing the connection the policy evicts for it.
    bool make_room();
    // Waits for the connection's first byte: false when it closed, was evicted or stayed silent
    // for first_byte_timeout.
    boost::asio::awaitable<bool> first_byte(tcp::socket& socket, const connection& conn);

    result<void> make_tls();
    boost::asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
    boost::asio::awaitable<void> session(tcp::socket socket, connection_slot slot);

    std::string metric_name_;
    std::string owner_uid_;
    std::function<double()> value_;
    metrics_server_options opts_;
    std::atomic<long> last_cents_{0};  // the floor: the highest value served, in hundredths
    std::atomic<std::size_t> active_{0};  // changed on the server thread only
    std::list<connection> connections_;    // server thread only; outlives the sessions (runtime_)
    std::uint64_t next_id_ = 0;
    std::uint16_t port_ = 0;
    std::optional<boost::asio::ssl::context> tls_;
    // Declared last: destroyed (with the suspended sessions) before what they use.
    std::unique_ptr<runtime> runtime_;
};

}  // namespace cdi
