#include "importer/cloud/error_words.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace cdi {
namespace {

constexpr std::size_t max_words = 200;

// Printable ASCII only (no CR/LF or escape reaches a log line or the termination message), bounded.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max_words) break;
        out += c >= 0x20 && c < 0x7f ? c : ' ';
    }
    return out;
}

std::string_view element(std::string_view xml, std::string_view name) {
    const std::string open = "<" + std::string(name) + ">", close = "</" + std::string(name) + ">";
    const auto start = xml.find(open);
    if (start == std::string_view::npos) return {};
    const auto end = xml.find(close, start + open.size());
    if (end == std::string_view::npos) return {};
    return xml.substr(start + open.size(), end - start - open.size());
}

}  // namespace

std::string s3_error_words(std::string_view body) {
    const auto code = element(body, "Code");
    if (code.empty()) return {};
    const auto message = element(body, "Message");
    return printable(message.empty() ? std::string(code) : std::string(code) + ": " + std::string(message));
}

std::string oauth_error_words(std::string_view body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* e = o ? o->if_contains("error") : nullptr;
    if (!e || !e->is_string()) return {};
    std::string out(e->as_string());
    if (const auto* d = o->if_contains("error_description"); d && d->is_string()) out += ": " + std::string(d->as_string());
    return printable(out);
}

}  // namespace cdi
