#include "importer/http/extra_headers.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

namespace cdi {
namespace fs = std::filesystem;

std::vector<std::string> env_extra_headers(const std::vector<std::string>& environ_entries) {
    static constexpr std::string_view prefix = "IMPORTER_EXTRA_HEADER_";
    std::vector<std::string> out;
    for (const auto& entry : environ_entries) {
        if (entry.rfind(prefix, 0) != 0) continue;
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        out.push_back(entry.substr(eq + 1));
    }
    return out;
}

result<std::vector<std::string>> secret_extra_headers(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return std::vector<std::string>{};
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
    if (ec) return make_error(errc::io, "cannot read the extra-header secrets in " + dir.string() + ": " + ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return make_error(errc::io, "cannot read the extra-header secrets in " + dir.string() + ": " + ec.message());
        const auto name = it->path().filename().string();
        if (!name.empty() && name.front() == '.') {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(ec)) files.push_back(it->path());  // follows symlinks
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) return make_error(errc::io, "cannot read the extra-header secret " + f.string());
        std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        out.push_back(std::move(line));
    }
    return out;
}

}  // namespace cdi
