#pragma once
// cdi-importer's answer to -h/--help: what the binary is, what it reads, one example.
#include <string_view>

namespace cdi {

std::string_view importer_usage() noexcept;

}  // namespace cdi
