#include "containers/tools/image_server.hpp"

#include "containers/tools/server_log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace cdi {

namespace {

unique_fd bind_listener(int family, int port, std::string& why) {
    unique_fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        why = std::string("socket: ") + std::strerror(errno);
        return {};
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (family == AF_INET) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
    } else {
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        sockaddr_in6 a{};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(static_cast<std::uint16_t>(port));
        a.sin6_addr = in6addr_loopback;
        rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a);
    }
    if (rc != 0 || ::listen(fd.get(), 64) != 0) {
        why = std::string("bind: ") + std::strerror(errno);
        return {};
    }
    return fd;
}

struct connection_job {
    image_connection connection;
    std::shared_ptr<std::atomic<int>> active;
};

void* connection_thread(void* arg) {
    std::unique_ptr<connection_job> job(static_cast<connection_job*>(arg));
    job->connection.run();
    job->active->fetch_sub(1);
    return nullptr;
}

}  // namespace

std::optional<image_server> image_server::listen(int port, std::string& why) {
    image_server s;
    std::string err;
    s.v4_ = bind_listener(AF_INET, port, err);
    if (!s.v4_) {
        why = "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + err;
        return std::nullopt;
    }
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    ::getsockname(s.v4_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    s.port_ = ntohs(bound.sin_port);
    s.v6_ = bind_listener(AF_INET6, s.port_, err);
    if (!s.v6_) server_log("not listening on [::1]:" + std::to_string(s.port_) + ": " + err);
    return s;
}

std::string image_server::serve(const serve_context& ctx, const std::string& done_file, int signal_fd) {
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {v4_.get(), POLLIN, 0}, {v6_ ? v6_.get() : -1, POLLIN, 0}};
    for (;;) {
        struct stat st {};
        if (::stat(done_file.c_str(), &st) == 0) return "done file " + done_file + " exists";
        const int ready = ::poll(fds, 3, static_cast<int>(done_poll.count()));
        if (ready < 0 && errno != EINTR) return std::string("poll: ") + std::strerror(errno);
        if (ready <= 0) continue;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            const bool got = ::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info);
            return std::string("received ") + (got ? ::strsignal(static_cast<int>(info.ssi_signo)) : "a signal");
        }
        for (int i = 1; i < 3; ++i)
            if (fds[i].revents & POLLIN) accept_one(fds[i].fd, ctx);
    }
}

void image_server::accept_one(int listener, const serve_context& ctx) {
    unique_fd sock(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!sock) return;  // the peer went away before we accepted, or EMFILE: the next poll retries
    if (active_->load() >= max_connections) {
        server_log("refusing a connection: " + std::to_string(max_connections) + " connections are open");
        return;
    }
    const int one = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A reader that stops reading for the idle timeout loses its connection (send/sendfile fail).
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(ctx.idle_timeout);
    timeval tv{static_cast<time_t>(secs.count()),
               static_cast<suseconds_t>(std::chrono::duration_cast<std::chrono::microseconds>(ctx.idle_timeout - secs).count())};
    ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    auto job = std::make_unique<connection_job>(connection_job{image_connection(std::move(sock), ctx), active_});
    pthread_attr_t attr;
    ::pthread_attr_init(&attr);
    ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ::pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    active_->fetch_add(1);
    if (::pthread_create(&thread, &attr, connection_thread, job.get()) == 0) {
        job.release();
    } else {
        active_->fetch_sub(1);
        server_log("cannot start a connection thread: closing the connection");
    }
    ::pthread_attr_destroy(&attr);
}

}  // namespace cdi
