#include "importer/pod/command_line.hpp"

#include "importer/pod/version.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <ostream>
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
        const bool has_value = a.find('=') != std::string_view::npos;
        if (!has_value && (name == "h" || name == "help")) {
            cl.what = command_line::request::help;
        } else if (!has_value && name == "version") {
            if (cl.what == command_line::request::run) cl.what = command_line::request::version;
        } else if (name == "v") {
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

std::string command_line_usage(std::string_view program) {
    const std::string p(program);
    return "Usage: " + p + " [-v=N] [-alsologtostderr] [-logtostderr]\n"
           "       " + p + " -h | --help | --version\n"
           "  -v=N            log level; 3 and above adds debug lines (logs go to stderr)\n"
           "  -h, --help      print this text and exit\n"
           "  --version       print the version and commit and exit\n";
}

std::optional<int> answer_help_or_version(const command_line& cl, std::string_view program, std::string_view usage,
                                          std::ostream& out) {
    switch (cl.what) {
    case command_line::request::run: return std::nullopt;
    case command_line::request::help: out << usage; break;
    case command_line::request::version: out << version_text(program); break;
    }
    out.flush();
    return 0;
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
