#include "importer/archive/ovf_descriptor.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

namespace cdi {

namespace {

constexpr std::string_view ovf1_ns = "http://schemas.dmtf.org/ovf/envelope/1";
constexpr std::string_view ovf2_ns = "http://schemas.dmtf.org/ovf/envelope/2";
constexpr std::size_t max_depth = 64;
constexpr std::size_t max_elements = 100'000;
constexpr std::size_t max_attributes = 256;
constexpr std::size_t max_namespaces = 256;  // declarations in scope: every name resolves in bounded time

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool name_end(char c) { return is_space(c) || c == '/' || c == '>' || c == '=' || c == '<' || c == '"' || c == '\''; }

struct attribute {
    std::string prefix, local, value;
};

struct frame {
    std::string qname;           // as written, for the end tag
    std::string ns, local;       // resolved
    std::size_t ns_mark = 0;     // namespace declarations in scope before this element
};

// The XML subset of the contract, one pass, collecting into an ovf_descriptor.
class reader {
public:
    explicit reader(std::string_view s) : s_(s) {}

    result<ovf_descriptor> run() {
        if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
        bool root_done = false;
        for (;;) {
            skip_space();
            if (pos_ >= s_.size()) break;
            if (!at("<")) return bad("text outside the root element");
            if (at("<?")) { if (auto r = skip_past("?>", "processing instruction"); !r) return r.error(); continue; }
            if (at("<!--")) { if (auto r = skip_past("-->", "comment"); !r) return r.error(); continue; }
            if (at("<!DOCTYPE") || at("<!ENTITY")) return unsafe();
            if (at("<!")) return bad("unexpected markup");
            if (root_done) return bad("a second root element");
            if (auto r = start_tag(); !r) return r.error();
            if (!stack_.empty()) {
                if (auto r = content(); !r) return r.error();
            }
            root_done = true;
        }
        if (!root_done) return bad("no root element");
        return std::move(out_);
    }

private:
    bool at(std::string_view t) const { return s_.substr(pos_, t.size()) == t; }
    void skip_space() { while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_; }

    error bad(std::string_view what) const {
        return make_error(errc::bad_image, "OVF descriptor: " + std::string(what) + " at byte " + std::to_string(pos_));
    }
    error unsafe() const {
        return make_error(errc::unsafe_image, "OVF descriptor: a DOCTYPE (entity declarations) at byte " +
                                                  std::to_string(pos_) + " is refused");
    }

    result<void> skip_past(std::string_view end, std::string_view what) {
        const auto at_end = s_.find(end, pos_);
        if (at_end == std::string_view::npos) return bad(std::string("unterminated ") + std::string(what));
        pos_ = at_end + end.size();
        return {};
    }

    std::string_view name() {
        const auto start = pos_;
        while (pos_ < s_.size() && !name_end(s_[pos_])) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    // Character data of an attribute value with its references decoded.
    result<std::string> decode(std::string_view raw) {
        std::string out;
        out.reserve(raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) {
            const char c = raw[i];
            if (c == '<') return bad("'<' in an attribute value");
            if (c != '&') { out += c; continue; }
            const auto semi = raw.find(';', i);
            if (semi == std::string_view::npos || semi - i > 12) return bad("a malformed reference");
            const auto ref = raw.substr(i + 1, semi - i - 1);
            i = semi;
            if (ref == "amp") out += '&';
            else if (ref == "lt") out += '<';
            else if (ref == "gt") out += '>';
            else if (ref == "quot") out += '"';
            else if (ref == "apos") out += '\'';
            else if (ref.size() > 1 && ref[0] == '#') {
                const bool hex = ref[1] == 'x';
                const auto digits = ref.substr(hex ? 2 : 1);
                std::uint32_t cp = 0;
                auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
                if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF)) {
                    return bad("a malformed character reference");
                }
                append_utf8(out, cp);
            } else {
                return bad("a reference to an undeclared entity");
            }
        }
        return out;
    }

    static void append_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    static std::pair<std::string_view, std::string_view> split(std::string_view qname) {
        const auto colon = qname.find(':');
        if (colon == std::string_view::npos) return {{}, qname};
        return {qname.substr(0, colon), qname.substr(colon + 1)};
    }

    // The namespace a prefix is bound to ("" for the default namespace), or nullopt when unbound.
    std::optional<std::string> lookup(std::string_view prefix) const {
        for (auto it = ns_.rbegin(); it != ns_.rend(); ++it) {
            if (it->first == prefix) return it->second;
        }
        if (prefix.empty()) return std::string();
        if (prefix == "xml") return std::string("http://www.w3.org/XML/1998/namespace");
        return std::nullopt;
    }

    // At '<' of a start tag: reads it, resolves it, collects it; pushes a frame unless it is empty.
    result<void> start_tag() {
        if (++elements_ > max_elements) return bad("more than 100000 elements");
        if (stack_.size() >= max_depth) return bad("elements nested deeper than 64");
        ++pos_;
        const auto qname = name();
        if (qname.empty()) return bad("an element without a name");
        std::vector<attribute> attrs;
        const std::size_t mark = ns_.size();
        bool empty = false;
        for (;;) {
            const auto before = pos_;
            skip_space();
            if (pos_ >= s_.size()) return bad("the document ends inside a tag");
            if (at("/>")) { pos_ += 2; empty = true; break; }
            if (at(">")) { ++pos_; break; }
            if (before == pos_) return bad("no space before an attribute");
            const auto aname = name();
            if (aname.empty()) return bad("an attribute without a name");
            skip_space();
            if (!at("=")) return bad("an attribute without a value");
            ++pos_;
            skip_space();
            if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) return bad("an unquoted attribute value");
            const char quote = s_[pos_++];
            const auto close = s_.find(quote, pos_);
            if (close == std::string_view::npos) return bad("an unterminated attribute value");
            auto value = decode(s_.substr(pos_, close - pos_));
            if (!value) return value.error();
            pos_ = close + 1;
            if (attrs.size() + ns_.size() - mark >= max_attributes) return bad("more than 256 attributes on one element");
            if (ns_.size() >= max_namespaces) return bad("more than 256 namespace declarations in scope");
            auto [prefix, local] = split(aname);
            if (prefix.empty() && local == "xmlns") ns_.emplace_back(std::string(), *value);
            else if (prefix == "xmlns") ns_.emplace_back(std::string(local), *value);
            else attrs.push_back(attribute{std::string(prefix), std::string(local), std::move(*value)});
        }
        auto [prefix, local] = split(qname);
        auto ns = lookup(prefix);
        if (!ns) return bad("an unbound namespace prefix \"" + std::string(prefix).substr(0, 64) + "\"");
        if (auto r = collect(*ns, local, attrs); !r) return r;
        if (empty) {
            ns_.resize(mark);
            return {};
        }
        stack_.push_back(frame{std::string(qname), std::move(*ns), std::string(local), mark});
        return {};
    }

    // The value of an attribute in the OVF namespace, or an unprefixed one.
    std::string attr(const std::vector<attribute>& attrs, std::string_view local) const {
        const attribute* plain = nullptr;
        for (const auto& a : attrs) {
            if (a.local != local) continue;
            if (a.prefix.empty()) { plain = &a; continue; }
            if (auto ns = lookup(a.prefix); ns && *ns == envelope_ns_) return a.value;
        }
        return plain ? plain->value : std::string();
    }

    result<void> collect(const std::string& ns, std::string_view local, const std::vector<attribute>& attrs) {
        if (stack_.empty()) {
            if (local != "Envelope" || (ns != ovf1_ns && ns != ovf2_ns)) {
                return make_error(errc::bad_image, "OVF descriptor: the root element is not an OVF 1.x or 2.x Envelope");
            }
            envelope_ns_ = ns;
            out_.version = ns == ovf2_ns ? 2 : 1;
            return {};
        }
        if (ns != envelope_ns_ || stack_.back().ns != envelope_ns_) return {};
        const auto& parent = stack_.back().local;
        if (local == "File" && parent == "References") {
            out_.files.push_back(ovf_file{attr(attrs, "id"), attr(attrs, "href"), attr(attrs, "size"),
                                          attr(attrs, "compression"), !attr(attrs, "chunkSize").empty()});
        } else if (local == "Disk" && parent == "DiskSection") {
            out_.disks.push_back(ovf_disk{attr(attrs, "diskId"), attr(attrs, "fileRef"), attr(attrs, "capacity"),
                                          attr(attrs, "capacityAllocationUnits"), attr(attrs, "format")});
        }
        return {};
    }

    // Inside an element: text, comments, PIs, CDATA, children, until the root's end tag.
    result<void> content() {
        while (!stack_.empty()) {
            const auto lt = s_.find('<', pos_);
            if (lt == std::string_view::npos) {
                pos_ = s_.size();
                return bad("the document ends inside <" + stack_.back().qname.substr(0, 64) + ">");
            }
            pos_ = lt;
            if (at("<!--")) { if (auto r = skip_past("-->", "comment"); !r) return r; continue; }
            if (at("<![CDATA[")) { if (auto r = skip_past("]]>", "CDATA section"); !r) return r; continue; }
            if (at("<?")) { if (auto r = skip_past("?>", "processing instruction"); !r) return r; continue; }
            if (at("<!DOCTYPE") || at("<!ENTITY")) return unsafe();
            if (at("<!")) return bad("unexpected markup");
            if (at("</")) {
                pos_ += 2;
                const auto qname = name();
                skip_space();
                if (!at(">")) return bad("a malformed end tag");
                ++pos_;
                if (qname != stack_.back().qname) return bad("an end tag that does not match <" + stack_.back().qname.substr(0, 64) + ">");
                ns_.resize(stack_.back().ns_mark);
                stack_.pop_back();
                continue;
            }
            if (auto r = start_tag(); !r) return r;
        }
        return {};
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::size_t elements_ = 0;
    std::vector<frame> stack_;
    std::vector<std::pair<std::string, std::string>> ns_;  // (prefix, uri) in scope, innermost last
    std::string envelope_ns_;
    ovf_descriptor out_;
};

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < 128; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out += (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : static_cast<char>(c);
    }
    if (s.size() > 128) out += "...";
    return out + "\"";
}

const ovf_file* file_of(const ovf_descriptor& d, const ovf_disk& disk) {
    for (const auto& f : d.files) {
        if (f.id == disk.file_ref) return &f;
    }
    return nullptr;
}

// "disk1.vmdk (file 1234 bytes, capacity 8 byte * 2^30)" for a refusal naming every disk.
std::string describe(const ovf_descriptor& d, const ovf_disk& disk) {
    std::string s;
    const ovf_file* f = disk.file_ref.empty() ? nullptr : file_of(d, disk);
    if (f) s = quoted(f->href) + " (file " + (f->size.empty() ? std::string("of unstated size") : f->size + " bytes");
    else s = "disk " + quoted(disk.disk_id) + " (no file";
    if (!disk.capacity.empty()) {
        s += ", capacity " + disk.capacity.substr(0, 32);
        s += disk.capacity_units.empty() ? " bytes" : " " + disk.capacity_units.substr(0, 32);
    }
    return s + ")";
}

}  // namespace

result<ovf_descriptor> parse_ovf(std::span<const std::byte> xml) {
    if (xml.size() > max_ovf_bytes) {
        return make_error(errc::bad_image, "OVF descriptor of " + std::to_string(xml.size()) + " bytes: at most " +
                                               std::to_string(max_ovf_bytes) + " are read");
    }
    return reader(std::string_view(reinterpret_cast<const char*>(xml.data()), xml.size())).run();
}

result<ova_disk> single_ova_disk(const ovf_descriptor& d) {
    if (d.disks.empty()) return make_error(errc::bad_image, "the OVF descriptor declares no disk");
    if (d.disks.size() > 1) {
        std::string list;
        for (std::size_t i = 0; i < d.disks.size() && i < 16; ++i) list += (i ? ", " : "") + describe(d, d.disks[i]);
        if (d.disks.size() > 16) list += ", ...";
        return make_error(errc::bad_image, "the OVA holds " + std::to_string(d.disks.size()) + " disks: " + list +
                                               "; a DataVolume holds one disk");
    }
    const ovf_disk& disk = d.disks.front();
    if (disk.file_ref.empty()) {
        return make_error(errc::bad_image, "the OVF descriptor's one disk " + quoted(disk.disk_id) + " has no file (a blank disk)");
    }
    const ovf_file* f = file_of(d, disk);
    if (!f) {
        return make_error(errc::bad_image, "the OVF descriptor's disk " + quoted(disk.disk_id) + " names file " +
                                               quoted(disk.file_ref) + ", which References does not declare");
    }
    const std::string_view href = f->href;
    if (href.empty() || href == "." || href == ".." || href.find_first_of("/\\:") != std::string_view::npos ||
        href.find('\0') != std::string_view::npos) {
        return make_error(errc::unsafe_image, "the OVF descriptor's disk file " + quoted(href) +
                                                  " is not a plain file name inside the OVA");
    }
    if (f->chunked) return make_error(errc::bad_image, "the OVF disk file " + quoted(href) + " is chunked (ovf:chunkSize): not supported");
    ova_disk out{std::string(href), std::nullopt, false, disk.disk_id};
    if (f->compression == "gzip") out.gzip = true;
    else if (!f->compression.empty() && f->compression != "identity") {
        return make_error(errc::bad_image, "the OVF disk file " + quoted(href) + " has compression " + quoted(f->compression) +
                                               ": only gzip is defined");
    }
    if (!f->size.empty()) {
        std::uint64_t size = 0;
        auto [p, ec] = std::from_chars(f->size.data(), f->size.data() + f->size.size(), size);
        if (ec != std::errc{} || p != f->size.data() + f->size.size()) {
            return make_error(errc::bad_image, "the OVF disk file " + quoted(href) + " has size " + quoted(f->size) + ", not a number");
        }
        out.size = size;
    }
    return out;
}

}  // namespace cdi
