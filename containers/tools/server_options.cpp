#include "containers/tools/server_options.hpp"

#include <string_view>

namespace cdi {

namespace {

bool parse_port(std::string_view text, int& port) {
    if (text.empty() || text.size() > 5) return false;
    int v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    if (v > 65535) return false;
    port = v;
    return true;
}

}  // namespace

std::optional<server_options> parse_server_options(int argc, char** argv, std::string& why) {
    server_options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") break;  // Go's flag package stops at "--"; positional arguments are ignored
        if (arg.size() < 2 || arg[0] != '-') break;
        arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
        std::string_view name = arg;
        std::optional<std::string_view> value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
        }
        std::string* target = nullptr;
        if (name == "image-dir") target = &o.image_dir;
        else if (name == "ready-file") target = &o.ready_file;
        else if (name == "done-file") target = &o.done_file;
        else if (name != "p") {
            why = "flag provided but not defined: -" + std::string(name);
            return std::nullopt;
        }
        if (!value) {
            if (i + 1 >= argc) {
                why = "flag needs an argument: -" + std::string(name);
                return std::nullopt;
            }
            value = argv[++i];
        }
        if (target) {
            *target = std::string(*value);
        } else if (!parse_port(*value, o.port)) {
            why = "invalid value \"" + std::string(*value) + "\" for flag -p: not a port number";
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace cdi
