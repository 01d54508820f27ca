#pragma once
// cdi-uploadserver's answer to -h/--help: what the binary is, what it reads, one example.
#include <string_view>

namespace cdi {

std::string_view upload_usage() noexcept;

}  // namespace cdi
