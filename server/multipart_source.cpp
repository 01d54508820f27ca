#include "server/multipart_source.hpp"

#include "cdi/ascii.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace cdi {
namespace {

// Large enough for a part's headers (bounded below) and for big reads of the part's data.
constexpr std::size_t window_bytes = 1 << 20;
constexpr std::size_t max_part_header_bytes = 16 * 1024;

// The value of parameter `name` (name="x" or name=x) in a header value, or empty.
std::string header_param(std::string_view value, std::string_view name) {
    const std::string low = ascii::lower(value);
    std::size_t at = 0;
    while ((at = low.find(name, at)) != std::string::npos) {
        const bool starts = at == 0 || low[at - 1] == ';' || low[at - 1] == ' ' || low[at - 1] == '\t';
        const std::size_t eq = at + name.size();
        if (starts && eq < low.size() && low[eq] == '=') {
            std::string_view rest = value.substr(eq + 1);
            if (!rest.empty() && rest.front() == '"') {
                const auto close = rest.find('"', 1);
                return std::string(rest.substr(1, close == std::string_view::npos ? rest.size() - 1 : close - 1));
            }
            return std::string(rest.substr(0, rest.find_first_of("; \t")));
        }
        at = eq;
    }
    return {};
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
    if (ascii::lower(content_type.substr(0, content_type.find(';'))) != "multipart/form-data") return {};
    std::string b = header_param(content_type.substr(std::min(content_type.size(), content_type.find(';'))), "boundary");
    if (b.size() > 70) return {};  // RFC 2046: 1 to 70 characters
    return b;
}

multipart_source::multipart_source(source_ptr upstream, std::string_view boundary, std::string field)
    : upstream_(std::move(upstream)), delimiter_("\r\n--" + std::string(boundary)), field_(std::move(field)),
      buf_(window_bytes) {
    // The first delimiter has no CRLF before it: supply one so every delimiter looks the same.
    buf_[0] = '\r';
    buf_[1] = '\n';
    end_ = 2;
}

result<bool> multipart_source::fill() {
    if (eof_) return false;
    if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == buf_.size()) return true;  // full: the caller consumes before filling again
    auto n = upstream_->read(std::as_writable_bytes(std::span<char>(buf_.data() + end_, buf_.size() - end_)));
    if (!n) return n.error();
    if (*n == 0) eof_ = true;
    end_ += *n;
    return *n != 0;
}

result<void> multipart_source::find_part() {
    for (;;) {
        // Skip to the next delimiter (the preamble or a part we do not want).
        std::size_t at;
        while ((at = window().find(delimiter_)) == std::string_view::npos) {
            if (eof_) return make_error(errc::bad_request, "multipart body has no part named \"" + field_ + "\"");
            begin_ = std::max(begin_, end_ - std::min(end_ - begin_, delimiter_.size() - 1));
            if (auto r = fill(); !r) return r.error();
        }
        begin_ += at + delimiter_.size();
        // After the delimiter: "--" ends the body, else the part's headers up to an empty line.
        std::size_t head_end;
        while ((head_end = window().find("\r\n\r\n")) == std::string_view::npos || window().size() < 2) {
            if (window().size() > max_part_header_bytes)
                return make_error(errc::bad_request, "multipart part headers exceed 16 KiB");
            if (window().substr(0, 2) == "--")
                return make_error(errc::bad_request, "multipart body has no part named \"" + field_ + "\"");
            auto r = fill();
            if (!r) return r.error();
            if (!*r) return make_error(errc::truncated, "multipart body ended inside part headers");
        }
        if (window().substr(0, 2) == "--")
            return make_error(errc::bad_request, "multipart body has no part named \"" + field_ + "\"");
        const std::string_view headers = window().substr(0, head_end);
        begin_ += head_end + 4;
        std::string name;
        std::size_t line = 0;
        while (line < headers.size()) {
            std::size_t eol = headers.find("\r\n", line);
            if (eol == std::string_view::npos) eol = headers.size();
            const std::string_view h = headers.substr(line, eol - line);
            if (ascii::lower(h.substr(0, 20)) == "content-disposition:") name = header_param(h.substr(20), "name");
            line = eol + 2;
        }
        if (name == field_) {
            in_part_ = true;
            return {};
        }
        // The skipped part's data starts here; its end is the next delimiter, found by the loop.
        spdlog::info("Ignoring part {}", name);
    }
}

result<std::size_t> multipart_source::read(std::span<std::byte> buf) {
    if (buf.empty() || done_) return std::size_t{0};
    if (!in_part_) {
        if (auto r = find_part(); !r) return r.error();
    }
    for (;;) {
        // The part's data ends where "\r\n--boundary" starts; bytes that may begin a delimiter
        // split across reads are held back until more data decides.
        const std::string_view w = window();
        const std::size_t at = w.find(delimiter_);
        if (at == 0) {
            done_ = true;
            return std::size_t{0};
        }
        const std::size_t ready = at != std::string_view::npos ? at
                                  : w.size() >= delimiter_.size() ? w.size() - (delimiter_.size() - 1)
                                                                  : 0;
        if (ready > 0) {
            const std::size_t n = std::min(ready, buf.size());
            std::memcpy(buf.data(), buf_.data() + begin_, n);
            begin_ += n;
            return n;
        }
        auto r = fill();
        if (!r) return r.error();
        if (!*r) return make_error(errc::truncated, "multipart part \"" + field_ + "\" ended without its closing boundary");
    }
}

}  // namespace cdi
