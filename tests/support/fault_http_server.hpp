#pragma once
// A small scriptable HTTP/1.1 server on 127.0.0.1 for what nginx cannot be told to do: fail N times,
// cut a body short, stall, refuse HEAD, or act as a forward proxy (CONNECT tunnels and absolute-form
// requests). One thread per connection with blocking Asio sockets; one request per connection
// (the handler writes the raw response itself, then the connection is closed).
//
//   fault_http_server s([&](const fault_request& req, fault_reply& out) {
//       out.send(fault_http_server::head(200, {{"Content-Length", "5"}}) + "hello");
//   });
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cdi::test {

struct fault_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    // The value of a header (case-insensitive name), "" when absent.
    std::string header(const std::string& name) const {
        for (const auto& [k, v] : headers) {
            if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                }))
                return v;
        }
        return {};
    }
};

class fault_http_server;

// The connection a handler answers on.
class fault_reply {
public:
    void send(std::string_view bytes) {
        boost::system::error_code ec;
        boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    }
    // Blocks until the server is destroyed (a peer that never sends another byte).
    void stall();
    boost::asio::ip::tcp::socket& socket() { return socket_; }
    std::string& leftover() { return leftover_; }  // bytes read past the request head

private:
    friend class fault_http_server;
    fault_reply(boost::asio::ip::tcp::socket& s, fault_http_server& server) : socket_(s), server_(server) {}
    boost::asio::ip::tcp::socket& socket_;
    fault_http_server& server_;
    std::string leftover_;
};

class fault_http_server {
public:
    using handler = std::function<void(const fault_request&, fault_reply&)>;

    explicit fault_http_server(handler h) : handler_(std::move(h)), acceptor_(ioc_) {
        using boost::asio::ip::tcp;
        tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
        acceptor_.open(ep.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind(ep);
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    fault_http_server(const fault_http_server&) = delete;
    fault_http_server& operator=(const fault_http_server&) = delete;
    ~fault_http_server() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
            for (auto* s : open_) {
                boost::system::error_code ec;
                s->shutdown(boost::asio::socket_base::shutdown_both, ec);
            }
        }
        cv_.notify_all();
        boost::system::error_code ec;
        acceptor_.cancel(ec);
        // Wake a blocking accept() with a connection of our own.
        {
            boost::asio::io_context io;
            boost::asio::ip::tcp::socket poke(io);
            poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
        }
        accept_thread_.join();
        acceptor_.close(ec);
        for (auto& t : workers_) t.join();
    }

    unsigned short port() const { return port_; }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
    std::vector<fault_request> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }

    // "HTTP/1.1 <status> <reason>\r\n<headers>Connection: close\r\n\r\n"
    static std::string head(int status, const std::vector<std::pair<std::string, std::string>>& headers = {},
                            const std::string& reason = "") {
        std::string r = reason;
        if (r.empty()) {
            switch (status) {
            case 200: r = "OK"; break;
            case 206: r = "Partial Content"; break;
            case 302: r = "Found"; break;
            case 403: r = "Forbidden"; break;
            case 404: r = "Not Found"; break;
            case 503: r = "Service Unavailable"; break;
            default: r = "Whatever";
            }
        }
        std::string s = "HTTP/1.1 " + std::to_string(status) + " " + r + "\r\n";
        for (const auto& [k, v] : headers) s += k + ": " + v + "\r\n";
        return s + "Connection: close\r\n\r\n";
    }

    // A forward proxy: CONNECT host:port opens a tunnel; an absolute-form request is relayed to its
    // origin with "Connection: close". Every request is recorded in requests().
    // after_connect: bytes a hostile proxy sends in the same write as its "200 Connection
    // established" (e.g. a forged origin response), before the tunnel starts.
    static handler forward_proxy(std::string after_connect = {}) {
        return [after_connect](const fault_request& req, fault_reply& out) {
            using boost::asio::ip::tcp;
            std::string authority, relay;
            if (req.method == "CONNECT") {
                authority = req.target;
            } else {
                auto start = req.target.find("://");
                if (start == std::string::npos) return out.send(head(400));
                auto path = req.target.find('/', start + 3);
                authority = req.target.substr(start + 3, path - start - 3);
                relay = req.method + " " + (path == std::string::npos ? "/" : req.target.substr(path)) + " HTTP/1.1\r\n";
                for (const auto& [k, v] : req.headers)
                    if (k != "Connection" && k != "Proxy-Authorization") relay += k + ": " + v + "\r\n";
                relay += "Connection: close\r\n\r\n";
            }
            auto colon = authority.rfind(':');
            boost::asio::io_context io;
            tcp::socket upstream(io);
            boost::system::error_code ec;
            upstream.connect({boost::asio::ip::make_address(authority.substr(0, colon)),
                              static_cast<unsigned short>(std::stoi(authority.substr(colon + 1)))}, ec);
            if (ec) return out.send(head(502));
            if (req.method == "CONNECT") {
                out.send("HTTP/1.1 200 Connection established\r\n\r\n" + after_connect);
                if (!out.leftover().empty()) boost::asio::write(upstream, boost::asio::buffer(out.leftover()), ec);
                std::thread up([&] { pipe(out.socket(), upstream); });
                pipe(upstream, out.socket());
                up.join();
            } else {
                boost::asio::write(upstream, boost::asio::buffer(relay), ec);
                pipe(upstream, out.socket());
            }
        };
    }

private:
    friend class fault_reply;

    static void pipe(boost::asio::ip::tcp::socket& from, boost::asio::ip::tcp::socket& to) {
        char buf[16384];
        boost::system::error_code ec;
        for (;;) {
            auto n = from.read_some(boost::asio::buffer(buf), ec);
            if (n > 0) boost::asio::write(to, boost::asio::buffer(buf, n), ec);
            if (ec) break;
        }
        to.shutdown(boost::asio::socket_base::shutdown_send, ec);
    }

    void accept_loop() {
        for (;;) {
            auto sock = std::make_unique<boost::asio::ip::tcp::socket>(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(*sock, ec);
            std::lock_guard lock(mu_);
            if (stopping_) return;
            if (ec) continue;
            open_.push_back(sock.get());
            workers_.emplace_back([this, s = std::move(sock)]() mutable { serve(std::move(s)); });
        }
    }

    void serve(std::unique_ptr<boost::asio::ip::tcp::socket> sock) {
        boost::asio::streambuf buf;
        boost::system::error_code ec;
        auto n = boost::asio::read_until(*sock, buf, "\r\n\r\n", ec);
        if (!ec) {
            std::string all(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_end(buf.data()));
            fault_request req;
            std::string head_text = all.substr(0, n);
            auto line_end = head_text.find("\r\n");
            auto first = head_text.substr(0, line_end);
            auto sp1 = first.find(' ');
            auto sp2 = first.find(' ', sp1 + 1);
            req.method = first.substr(0, sp1);
            req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
            std::size_t pos = line_end + 2;
            while (pos < head_text.size()) {
                auto e = head_text.find("\r\n", pos);
                auto line = head_text.substr(pos, e - pos);
                pos = e + 2;
                auto c = line.find(':');
                if (c == std::string::npos) continue;
                auto v = line.substr(c + 1);
                while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                req.headers.emplace_back(line.substr(0, c), v);
            }
            {
                std::lock_guard lock(mu_);
                requests_.push_back(req);
            }
            fault_reply reply(*sock, *this);
            reply.leftover_ = all.substr(n);
            handler_(req, reply);
        }
        std::lock_guard lock(mu_);
        sock->shutdown(boost::asio::socket_base::shutdown_both, ec);
        sock->close(ec);
        open_.erase(std::remove(open_.begin(), open_.end(), sock.get()), open_.end());
    }

    handler handler_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    unsigned short port_ = 0;
    std::thread accept_thread_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<boost::asio::ip::tcp::socket*> open_;
    std::vector<std::thread> workers_;
    std::vector<fault_request> requests_;
};

inline void fault_reply::stall() {
    std::unique_lock lock(server_.mu_);
    server_.cv_.wait(lock, [this] { return server_.stopping_; });
}

}  // namespace cdi::test
