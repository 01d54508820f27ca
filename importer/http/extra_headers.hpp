#pragma once
// The extra request headers a DataVolume can ask for (contract 1.1/1.2, section 4): one per
// environment variable named IMPORTER_EXTRA_HEADER_*, and one per secret file under
// /extraheaders/<i>/<key>. Each value is a raw "Name: value" line; lines without ':' are ignored
// later by the HTTP origin, as CDI does. Read once at start-up.
#include "cdi/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace cdi {

// From "NAME=value" environment entries, in their order: the values of IMPORTER_EXTRA_HEADER_*.
std::vector<std::string> env_extra_headers(const std::vector<std::string>& environ_entries);

// Every regular file (or symlink to one) under dir whose name and path components do not start with
// '.' (Kubernetes' secret volumes hold "..data" links), sorted by path; each file's content is one
// header line (trailing CR/LF removed). A missing dir yields no headers; an unreadable one is an error.
result<std::vector<std::string>> secret_extra_headers(const std::filesystem::path& dir);

}  // namespace cdi
