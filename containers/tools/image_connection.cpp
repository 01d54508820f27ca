#include "containers/tools/image_connection.hpp"

#include "containers/tools/byte_range.hpp"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace cdi {

namespace {

// sendfile(2) piece: large enough that the call overhead vanishes, small enough that a piece never
// blocks for long on a slow reader.
constexpr std::uint64_t send_piece = 1u << 20;

const char* reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    default: return "Error";
    }
}

// Where the head ends in `buf`: {head length, bytes to consume} once a blank line (CRLF or LF) is
// there, else {npos, 0}.
std::pair<std::size_t, std::size_t> find_head_end(std::string_view buf) {
    for (auto nl = buf.find('\n'); nl != std::string_view::npos; nl = buf.find('\n', nl + 1)) {
        if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return {nl + 1, nl + 2};
        if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return {nl + 1, nl + 3};
    }
    return {std::string_view::npos, 0};
}

std::string status_line(int status) {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\nDate: " + http_date(std::time(nullptr)) + "\r\n";
}

std::string connection_header(const http_request* req, bool keep_alive) {
    if (!keep_alive) return "Connection: close\r\n";
    return req && req->minor_version == 0 ? "Connection: keep-alive\r\n" : "";
}

}  // namespace

image_connection::image_connection(unique_fd socket, const serve_context& ctx) : socket_(std::move(socket)), ctx_(ctx) {
    buffer_.reserve(max_head_bytes + 4096);
}

void image_connection::run() {
    std::string head;
    for (;;) {
        switch (read_head(head)) {
        case head_status::closed: return;
        case head_status::too_large:
            send_simple(431, "431 request header fields too large\n", false, false);
            return;
        case head_status::ok: break;
        }
        auto req = parse_request_head(head);
        if (!req) {
            send_simple(400, "400 bad request\n", false, false);
            return;
        }
        if (!answer(*req)) return;
    }
}

image_connection::head_status image_connection::read_head(std::string& head) {
    const auto deadline = std::chrono::steady_clock::now() + ctx_.idle_timeout;
    for (;;) {
        // Blank lines between requests are skipped (RFC 9112 section 2.2).
        const auto text = buffer_.find_first_not_of("\r\n");
        buffer_.erase(0, text == std::string::npos ? buffer_.size() : text);
        auto [length, consumed] = find_head_end(buffer_);
        if (length != std::string_view::npos) {
            if (length > max_head_bytes) return head_status::too_large;
            head.assign(buffer_, 0, length);
            buffer_.erase(0, consumed);
            return head_status::ok;
        }
        if (buffer_.size() > max_head_bytes) return head_status::too_large;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return head_status::closed;
        pollfd p{socket_.get(), POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 1 << 30)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return head_status::closed;  // idle timeout, or poll failed
        char chunk[4096];
        const ssize_t n = ::recv(socket_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return head_status::closed;
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

bool image_connection::answer(const http_request& req) {
    const bool keep_alive = req.keep_alive();
    const bool head_only = req.method == "HEAD";
    if (req.method != "GET" && !head_only) {
        send_simple(405, "405 method not allowed\n", false, false, "Allow: GET, HEAD\r\n");
        return false;
    }
    auto path = request_path(req.target);
    if (!path) {
        send_simple(400, "400 bad request\n", false, false);
        return false;
    }
    if (*path == "/info") {
        const std::string body = ctx_.info_json;
        std::string head = status_line(200) + "Content-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n" + connection_header(&req, keep_alive) + "\r\n";
        if (!head_only) head += body;
        return send_all(head, false) && keep_alive;
    }
    if (*path != "/" + ctx_.image->name) {
        return send_simple(404, "404 page not found\n", head_only, keep_alive) && keep_alive;
    }
    return answer_image(req, keep_alive);
}

bool image_connection::answer_image(const http_request& req, bool keep_alive) {
    const served_image& img = *ctx_.image;
    byte_range range;
    if (auto value = req.header("range")) {
        // If-Range with another validator than ours: the client's copy is stale, send everything.
        auto if_range = req.header("if-range");
        if (!if_range || *if_range == img.last_modified) range = parse_byte_range(*value, img.size);
    }
    const bool head_only = req.method == "HEAD";
    if (range.type == byte_range::kind::unsatisfiable) {
        const std::string extra = "Content-Range: bytes */" + std::to_string(img.size) + "\r\n";
        return send_simple(416, "416 requested range not satisfiable\n", head_only, keep_alive, extra) && keep_alive;
    }
    const bool part = range.type == byte_range::kind::part;
    const std::uint64_t offset = part ? range.first : 0;
    const std::uint64_t length = part ? range.last - range.first + 1 : img.size;
    std::string head = status_line(part ? 206 : 200) +
                       "Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nLast-Modified: " +
                       img.last_modified + "\r\nContent-Length: " + std::to_string(length) + "\r\n";
    if (part) {
        head += "Content-Range: bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                std::to_string(img.size) + "\r\n";
    }
    head += connection_header(&req, keep_alive) + "\r\n";
    const bool body = !head_only && length > 0;
    if (!send_all(head, body)) return false;
    if (body && !send_file(offset, length)) return false;
    return keep_alive;
}

bool image_connection::send_simple(int status, std::string_view body, bool head_only, bool keep_alive, std::string_view extra) {
    std::string msg = status_line(status) + "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n" +
                      std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n" +
                      connection_header(nullptr, keep_alive) + "\r\n";
    if (!head_only) msg += body;
    return send_all(msg, false);
}

bool image_connection::send_all(std::string_view bytes, bool more) {
    const int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    while (!bytes.empty()) {
        const ssize_t n = ::send(socket_.get(), bytes.data(), bytes.size(), flags);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;  // peer gone, or SO_SNDTIMEO elapsed
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool image_connection::send_file(std::uint64_t offset, std::uint64_t length) {
    auto off = static_cast<off_t>(offset);
    while (length > 0) {
        const ssize_t n = ::sendfile(socket_.get(), ctx_.image->fd.get(), &off, std::min(length, send_piece));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;  // peer gone, SO_SNDTIMEO elapsed, or the file shrank under us
        length -= static_cast<std::uint64_t>(n);
    }
    return true;
}

}  // namespace cdi
