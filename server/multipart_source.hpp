#pragma once
// The body of one multipart/form-data part as a source (contract 6.3, /upload-form paths): parts
// before the one named `field` are skipped (logged "Ignoring part <name>"), the named part's bytes
// are delivered up to its closing delimiter, and later parts are never read (as CDI's reader).
// A body without the named part is errc::bad_request; a part cut short (no closing delimiter) is
// errc::truncated.
#include "cdi/source.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cdi {

class multipart_source final : public source {
public:
    multipart_source(source_ptr upstream, std::string_view boundary, std::string field = "file");

    result<std::size_t> read(std::span<std::byte> buf) override;

private:
    result<void> find_part();
    result<bool> fill();  // false at the upstream's end
    std::string_view window() const { return {buf_.data() + begin_, end_ - begin_}; }

    source_ptr upstream_;
    std::string delimiter_;  // "\r\n--" + boundary
    std::string field_;
    std::vector<char> buf_;  // the window [begin_, end_) of unconsumed upstream bytes
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
    bool in_part_ = false;
    bool done_ = false;
};

// The boundary parameter of a multipart/form-data Content-Type; empty when it is not one.
std::string multipart_boundary(std::string_view content_type);

}  // namespace cdi
