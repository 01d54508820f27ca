#pragma once
// The build's identity, for --version: CMake's PROJECT_VERSION and the commit the build tree was
// configured from (`git rev-parse --short HEAD` at configure time; "unknown" outside a git checkout).
#include <string>
#include <string_view>

namespace cdi {

std::string_view build_version() noexcept;
std::string_view build_commit() noexcept;

// "<program> <version> (commit <hash>)\n"
std::string version_text(std::string_view program);

}  // namespace cdi
