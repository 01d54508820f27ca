#include "importer/job/phase_runner.hpp"

#include <spdlog/spdlog.h>

namespace cdi {

void phase_runner::on(phase p, executor exec, std::string error_prefix) {
    phases_[static_cast<std::size_t>(p)] = entry{std::move(exec), std::move(error_prefix)};
}

result<phase> phase_runner::run(phase start) {
    std::array<bool, phase_count> visited{};
    phase current = start;
    while (current != phase::complete && current != phase::pause) {
        auto index = static_cast<std::size_t>(current);
        if (visited[index]) {
            progress_.set_phase(phase::error);
            return make_error(errc::bad_request, "loop detected on phase " + std::string(phase_name(current)));
        }
        visited[index] = true;
        const entry& e = phases_[index];
        if (!e.exec) {
            progress_.set_phase(phase::error);
            return make_error(errc::bad_request, "Unknown processing phase " + std::string(phase_name(current)));
        }
        progress_.set_phase(current);
        spdlog::info("Processing phase {}", phase_name(current));
        auto next = e.exec();
        if (!next) {
            progress_.set_phase(phase::error);
            error err = std::move(next).error();
            if (!e.prefix.empty()) err.context = e.prefix + ": " + err.context;
            return err;
        }
        current = *next;
    }
    progress_.set_phase(current);
    spdlog::info("Processing phase {}", phase_name(current));
    return current;
}

}  // namespace cdi
