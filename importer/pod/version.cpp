// The only file compiled with CDI_VERSION and CDI_COMMIT (importer/pod/CMakeLists.txt), so a new
// commit recompiles this file alone.
#include "importer/pod/version.hpp"

#ifndef CDI_VERSION
#error "CDI_VERSION is defined by importer/pod/CMakeLists.txt"
#endif
#ifndef CDI_COMMIT
#error "CDI_COMMIT is defined by importer/pod/CMakeLists.txt"
#endif

namespace cdi {

std::string_view build_version() noexcept { return CDI_VERSION; }
std::string_view build_commit() noexcept { return CDI_COMMIT; }

std::string version_text(std::string_view program) {
    std::string out(program);
    out += ' ';
    out += build_version();
    out += " (commit ";
    out += build_commit();
    out += ")\n";
    return out;
}

}  // namespace cdi
