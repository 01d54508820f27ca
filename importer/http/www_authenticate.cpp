#include "importer/http/www_authenticate.hpp"

#include "cdi/ascii.hpp"

#include <algorithm>
#include <optional>

namespace cdi {
namespace {

bool is_alpha_digit(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 7230 tchar.
bool is_tchar(char c) noexcept {
    return is_alpha_digit(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 7235 token68 characters (before the trailing '=' padding).
bool is_token68_char(char c) noexcept {
    return is_alpha_digit(c) || std::string_view("-._~+/").find(c) != std::string_view::npos;
}

class challenge_parser {
public:
    explicit challenge_parser(std::string_view s) : s_(s) {}

    std::vector<auth_challenge> run() {
        std::vector<auth_challenge> out;
        bool have_current = false;  // out.back() is the challenge later auth-params belong to
        for (;;) {
            skip_separators();
            if (at_end()) break;
            const std::size_t element = i_;
            const std::string_view name = token();
            if (name.empty()) {
                skip_element(element);
                continue;
            }
            const std::size_t after_name = i_;
            skip_ows();
            if (peek('=')) {  // "name = value": a parameter of the current challenge
                if (!have_current || !param(out.back(), name)) skip_element(element);
                continue;
            }
            i_ = after_name;
            if (!at_end() && !peek(' ') && !peek('\t') && !peek(',')) {  // "Basic/x", "Bearer\"y\""
                have_current = false;
                skip_element(element);
                continue;
            }
            out.push_back(auth_challenge{ascii::lower(name), {}});
            have_current = true;
            skip_ows();
            if (at_end() || peek(',')) continue;
            first_item(out.back());
        }
        return out;
    }

private:
    bool at_end() const noexcept { return i_ >= s_.size(); }
    bool peek(char c) const noexcept { return !at_end() && s_[i_] == c; }
    void skip_ows() noexcept {
        while (peek(' ') || peek('\t')) ++i_;
    }
    void skip_separators() noexcept {
        while (peek(' ') || peek('\t') || peek(',')) ++i_;
    }
    // After an item: OWS, then the end or the list's comma (left for skip_separators).
    bool item_ends() noexcept {
        skip_ows();
        return at_end() || peek(',');
    }

    std::string_view token() noexcept {
        const std::size_t start = i_;
        while (!at_end() && is_tchar(s_[i_])) ++i_;
        return s_.substr(start, i_ - start);
    }

    // At '"': the unescaped content, or nothing for an unterminated string or a control character.
    std::optional<std::string> quoted_string() {
        std::string out;
        ++i_;
        while (!at_end()) {
            const char c = s_[i_++];
            if (c == '"') return out;
            if (c == '\\') {
                if (at_end()) return std::nullopt;
                out += s_[i_++];
                continue;
            }
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return std::nullopt;
            out += c;
        }
        return std::nullopt;
    }

    // At '=' after "name BWS": BWS then a token or quoted-string, then the end of the item.
    bool param(auth_challenge& c, std::string_view name) {
        ++i_;
        skip_ows();
        std::string value;
        if (peek('"')) {
            auto q = quoted_string();
            if (!q) return false;
            value = std::move(*q);
        } else {
            const std::string_view t = token();
            if (t.empty()) return false;
            value = t;
        }
        if (!item_ends()) return false;
        c.params.emplace(ascii::lower(name), std::move(value));  // a repeated name keeps its first value
        return true;
    }

    // The first item after a scheme: an auth-param, else a token68, else a malformed element.
    void first_item(auth_challenge& c) {
        const std::size_t start = i_;
        const std::string_view name = token();
        if (!name.empty()) {
            skip_ows();
            if (peek('=') && param(c, name)) return;
        }
        i_ = start;
        while (!at_end() && is_token68_char(s_[i_])) ++i_;
        const bool has_body = i_ > start;
        while (peek('=')) ++i_;
        const std::size_t end = i_;
        if (has_body && item_ends()) {
            c.params.emplace(std::string(), std::string(s_.substr(start, end - start)));
            return;
        }
        skip_element(start);
    }

    // Moves from `from` to the next comma outside a quoted-string (or the end).
    void skip_element(std::size_t from) noexcept {
        bool in_quotes = false;
        for (i_ = from; !at_end(); ++i_) {
            const char c = s_[i_];
            if (in_quotes && c == '\\') {
                ++i_;
            } else if (c == '"') {
                in_quotes = !in_quotes;
            } else if (c == ',' && !in_quotes) {
                return;
            }
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::vector<auth_challenge> parse_www_authenticate(std::string_view value) { return challenge_parser(value).run(); }

}  // namespace cdi
