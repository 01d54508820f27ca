#pragma once
// What every reader of untrusted tar entries says about an entry's name: the name shown in a message
// (quoted, one line, cut), the refusal of an unsafe entry (errc::archive_unsafe_entry naming it), and
// a stored path made relative or refused (absolute, or ".." anywhere). Shared by the safe extractor
// and the reader of a tar's one disk (tar_disk_source).
#include "cdi/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace cdi {

// A name for an error context: quoted, control bytes escaped (one line), long names cut.
std::string shown_entry_name(std::string_view s);

// errc::archive_unsafe_entry: "archive entry "<name>" <why>".
error unsafe_entry(std::string_view name, std::string_view why);

// The components of a stored path, "" and "." dropped.
std::vector<std::string_view> path_components(std::string_view p);

// A stored path made relative to the root ("./a//b/" → "a/b"; the root itself → ""), or the reason
// it cannot be: absolute, or a ".." component anywhere. `what` words a link target ("is a hard link
// to"); empty for the entry's own name.
result<std::string> normalize_entry_path(std::string_view entry, std::string_view p, std::string_view what);

}  // namespace cdi
