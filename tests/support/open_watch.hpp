#pragma once
// Witnesses that a tool under test never reached something a hostile image names:
//  - connection_counter: a TCP listener on 127.0.0.1 that accepts, counts and closes every connection
//    (any protocol: nbd, http, ...);
//  - open_watch: inotify IN_OPEN on one file, counting opens of it by any process.
// Both count until destroyed; read the count after the tool has exited.
#include <netinet/in.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace cdi::test {

class connection_counter {
public:
    connection_counter() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            throw std::runtime_error("connection_counter: cannot listen on 127.0.0.1");
        }
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, 50) <= 0) continue;
                const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c < 0) continue;
                ++count_;
                ::close(c);
            }
        });
    }
    connection_counter(const connection_counter&) = delete;
    connection_counter& operator=(const connection_counter&) = delete;
    ~connection_counter() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    unsigned short port() const { return port_; }
    int count() const { return count_; }

private:
    int fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> count_{0};
    std::thread thread_;
};

class open_watch {
public:
    explicit open_watch(const std::filesystem::path& file) {
        fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd_ < 0 || ::inotify_add_watch(fd_, file.c_str(), IN_OPEN) < 0) {
            throw std::runtime_error("open_watch: cannot watch " + file.string());
        }
    }
    open_watch(const open_watch&) = delete;
    open_watch& operator=(const open_watch&) = delete;
    ~open_watch() { ::close(fd_); }

    // Opens seen so far (drains the queued events).
    int count() {
        alignas(inotify_event) char buf[4096];
        for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;) {
            for (char* p = buf; p < buf + n; p += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(p)->len) {
                if (reinterpret_cast<inotify_event*>(p)->mask & IN_OPEN) ++opens_;
            }
        }
        return opens_;
    }

private:
    int fd_ = -1;
    int opens_ = 0;
};

}  // namespace cdi::test
