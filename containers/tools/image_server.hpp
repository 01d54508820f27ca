#pragma once
// The listening side of cdi-containerimage-server: 127.0.0.1 and ::1 on one port (literal
// addresses: the server runs in arbitrary images, with no resolver configuration to rely on), a
// detached thread per connection (at most max_connections at once), and the wait for the done
// file or a termination signal (contract 1.7).
#include "cdi/unique_fd.hpp"
#include "containers/tools/image_connection.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace cdi {

class image_server {
public:
    // Connections beyond this are closed at once (CDI's importer and nbdkit open a handful).
    static constexpr int max_connections = 64;
    // How often the done file is looked for.
    static constexpr std::chrono::milliseconds done_poll{100};

    // Binds and listens on 127.0.0.1:port (required) and [::1]:port (skipped with a log line when
    // IPv6 is unavailable). Port 0 picks a free port, the same one for both addresses.
    static std::optional<image_server> listen(int port, std::string& why);

    int port() const noexcept { return port_; }

    // Accepts connections, each served on its own thread with `ctx`, until `done_file` exists or
    // `signal_fd` (a signalfd for SIGTERM/SIGINT) is readable. Returns why it stopped, for the log.
    // The caller exits the process right after: connection threads are never joined.
    std::string serve(const serve_context& ctx, const std::string& done_file, int signal_fd);

private:
    image_server() = default;
    void accept_one(int listener, const serve_context& ctx);

    unique_fd v4_;
    unique_fd v6_;
    int port_ = 0;
    std::shared_ptr<std::atomic<int>> active_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace cdi
