#pragma once
// A blocking TLS (or plain TCP) client on one connection to 127.0.0.1, on OpenSSL directly: for what
// curl will not do (malformed requests, half-closes, resets, TLS version caps, a byte at a time).
// The constructor connects and handshakes; ok() says whether that worked, error() why not.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace cdi::test {

struct tls_client_options {
    bool tls = true;                      // false: plain TCP
    std::filesystem::path ca;             // verify the server against this CA ("" = no verification)
    std::filesystem::path cert, key;      // client identity ("" = none)
    int min_version = 0, max_version = 0; // TLS1_VERSION..TLS1_3_VERSION, 0 = library default
    std::string cipher_list;              // TLS <= 1.2 suites ("" = default)
    std::string ciphersuites;             // TLS 1.3 suites ("" = default)
};

class tls_client {
public:
    tls_client(int port, const tls_client_options& o = {}) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            error_ = "connect failed";
            return;
        }
        if (!o.tls) {
            ok_ = true;
            return;
        }
        ::signal(SIGPIPE, SIG_IGN);  // a write to a connection the server closed is an error return
        ctx_.reset(SSL_CTX_new(TLS_client_method()));
        SSL_CTX* c = ctx_.get();
        // Without auto-retry a blocking SSL_read returns after a non-data record (a TLS 1.3 session
        // ticket) instead of waiting for data: read_all's poll decides how long to wait.
        SSL_CTX_clear_mode(c, SSL_MODE_AUTO_RETRY);
        // Security level 0 so that the client can offer what the server must refuse (TLS 1.0/1.1).
        SSL_CTX_set_security_level(c, 0);
        if (o.min_version) SSL_CTX_set_min_proto_version(c, o.min_version);
        if (o.max_version) SSL_CTX_set_max_proto_version(c, o.max_version);
        std::string list = o.cipher_list.empty() ? "DEFAULT:@SECLEVEL=0" : o.cipher_list + ":@SECLEVEL=0";
        if (SSL_CTX_set_cipher_list(c, list.c_str()) != 1) { fail("cipher list"); return; }
        if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, o.ciphersuites.c_str()) != 1) {
            fail("ciphersuites");
            return;
        }
        if (!o.ca.empty()) {
            if (SSL_CTX_load_verify_locations(c, o.ca.c_str(), nullptr) != 1) { fail("CA"); return; }
            SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
        }
        if (!o.cert.empty()) {
            if (SSL_CTX_use_certificate_file(c, o.cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
                SSL_CTX_use_PrivateKey_file(c, o.key.c_str(), SSL_FILETYPE_PEM) != 1) {
                fail("client certificate");
                return;
            }
        }
        ssl_.reset(SSL_new(c));
        SSL_set_fd(ssl_.get(), fd_);
        if (SSL_connect(ssl_.get()) != 1) { fail("handshake"); return; }
        ok_ = true;
    }
    tls_client(const tls_client&) = delete;
    tls_client& operator=(const tls_client&) = delete;
    ~tls_client() {
        ssl_.reset();
        if (fd_ >= 0) ::close(fd_);
    }

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    std::string protocol() const { return ssl_ ? SSL_get_version(ssl_.get()) : "tcp"; }
    std::string cipher() const { return ssl_ ? SSL_get_cipher_name(ssl_.get()) : ""; }

    // Writes all of data; false once the connection is gone.
    bool send(std::string_view data) {
        while (!data.empty()) {
            const int n = ssl_ ? SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()))
                               : static_cast<int>(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL));
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // TCP half-close: the peer reads end of stream, we can still read its answer. No close_notify
    // (a client that stops mid-body does not say goodbye).
    void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

    // Closes with a TCP RST (SO_LINGER 0).
    void reset() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ssl_.reset();
        ::close(fd_);
        fd_ = -1;
    }

    // Everything the peer sends until it closes the connection or timeout passes; closed() tells which.
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::string out;
        const auto until = std::chrono::steady_clock::now() + timeout;
        char buf[16384];
        for (;;) {
            if (!ssl_ || SSL_has_pending(ssl_.get()) == 0) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
                pollfd p{fd_, POLLIN, 0};
                if (::poll(&p, 1, static_cast<int>(std::max<long long>(left.count(), 0))) <= 0) return out;
            }
            const int n = ssl_ ? SSL_read(ssl_.get(), buf, sizeof buf) : static_cast<int>(::recv(fd_, buf, sizeof buf, 0));
            if (n <= 0) {
                if (ssl_ && SSL_get_error(ssl_.get(), n) == SSL_ERROR_WANT_READ) continue;  // e.g. a session ticket
                closed_ = true;
                ERR_clear_error();
                return out;
            }
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    bool closed() const { return closed_; }

    // Without blocking: has the peer closed the connection (end of stream, close_notify or reset)?
    bool peer_closed() {
        if (closed_) return true;
        read_all(std::chrono::milliseconds(0));
        return closed_;
    }

private:
    void fail(const char* what) {
        error_ = std::string(what) + ": ";
        while (unsigned long e = ERR_get_error()) {
            char b[256];
            ERR_error_string_n(e, b, sizeof b);
            error_ += b;
            error_ += "; ";
        }
    }

    struct ctx_free {
        void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
    };
    struct ssl_free {
        void operator()(SSL* s) const noexcept { SSL_free(s); }
    };
    int fd_ = -1;
    std::unique_ptr<SSL_CTX, ctx_free> ctx_;
    std::unique_ptr<SSL, ssl_free> ssl_;
    bool ok_ = false;
    bool closed_ = false;
    std::string error_;
};

}  // namespace cdi::test
