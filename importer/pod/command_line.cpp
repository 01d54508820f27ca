#include "importer/pod/command_line.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <string>
#include <string_view>

namespace cdi {

command_line parse_command_line(std::span<char*> args) {
    command_line cl;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        std::string_view name = a;
        while (!name.empty() && name.front() == '-') name.remove_prefix(1);
        std::string_view value;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (name == "v") {
            if (value.empty() && i + 1 < args.size()) value = args[++i];
            int v = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            if (ec == std::errc{} && p == value.data() + value.size()) cl.verbosity = v;
        } else if (name != "alsologtostderr" && name != "logtostderr") {
            cl.ignored.emplace_back(a);
        }
    }
    return cl;
}

void setup_logging(const command_line& cl) {
    auto logger = spdlog::stderr_logger_mt("cdi");
    logger->set_pattern("%L%m%d %H:%M:%S.%f %7t] %v");
    logger->set_level(cl.verbosity >= 3 ? spdlog::level::debug : spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    for (const auto& a : cl.ignored) spdlog::warn("Ignoring unknown argument {}", a);
}

}  // namespace cdi
