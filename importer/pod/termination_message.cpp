#include "importer/pod/termination_message.hpp"

#include "cdi/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace cdi {
namespace {

constexpr std::size_t max_length = 4096;

// JSON string escaping as Go's encoding/json does it (including its HTML-safe escapes).
void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

void append_bool(std::string& out, bool& first, std::string_view key, const std::optional<bool>& v) {
    if (!v) return;
    out += first ? "" : ",";
    first = false;
    append_json_string(out, key);
    out += *v ? ":true" : ":false";
}

}  // namespace

result<std::string> termination_message::to_json() const {
    std::string out = "{";
    bool first = true;
    append_bool(out, first, "scratchSpaceRequired", scratch_space_required);
    append_bool(out, first, "preallocationApplied", preallocation_applied);
    append_bool(out, first, "deadlinePassed", deadline_passed);
    if (!labels.empty()) {
        out += first ? "" : ",";
        first = false;
        out += "\"labels\":{";
        bool first_label = true;
        for (const auto& [k, v] : labels) {  // std::map: sorted keys, as Go marshals maps
            out += first_label ? "" : ",";
            first_label = false;
            append_json_string(out, k);
            out += ':';
            append_json_string(out, v);
        }
        out += '}';
    }
    if (!message.empty()) {
        out += first ? "" : ",";
        out += "\"message\":";
        append_json_string(out, message);
    }
    out += '}';
    if (out.size() > max_length) {
        return make_error(errc::bad_request, "Termination message length " + std::to_string(out.size()) +
                                                 " exceeds maximum length of 4096 bytes");
    }
    return out;
}

result<termination_message::fitted> termination_message::to_fitted_json() const {
    termination_message kept = *this;
    kept.labels.clear();
    auto bare = kept.to_json();
    if (!bare) return bare.error();
    fitted out{std::move(*bare), {}};
    for (const auto& [k, v] : labels) {
        kept.labels.emplace(k, v);
        if (auto json = kept.to_json()) {
            out.json = std::move(*json);
        } else {
            kept.labels.erase(k);
            out.dropped_labels.push_back(k);
        }
    }
    return out;
}

result<void> write_termination_file(const std::filesystem::path& path, std::string_view text) {
    std::string line(text);
    for (char& c : line) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return errno_error(errno, "cannot open termination log " + path.string());
    std::size_t done = 0;
    while (done < line.size()) {
        ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, "cannot write termination log " + path.string());
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS) {
        return errno_error(errno, "cannot fsync termination log " + path.string());
    }
    return {};
}

}  // namespace cdi
