#pragma once
// CDI's DataProcessor loop (contract section 2.1), shared by the importer and the upload server:
// each phase's executor returns the next phase; the loop stops at Complete or Pause. Visiting a
// phase twice is an error ("loop detected on phase X"), and so is a phase with no executor
// ("Unknown processing phase X"). The first error aborts the run, wrapped in the phase's own
// message (CDI's "Unable to transfer source data to target file: ..." chain) when one is set.
#include "cdi/error.hpp"
#include "cdi/progress.hpp"

#include <array>
#include <functional>
#include <string>

namespace cdi {

class phase_runner {
public:
    using executor = std::function<result<phase>()>;

    explicit phase_runner(progress& prog) : progress_(prog) {}

    // Registers the executor of a phase and the words that prefix its errors (may be empty).
    void on(phase p, executor exec, std::string error_prefix = {});

    // Runs from `start` until Complete or Pause; returns the phase it stopped at.
    result<phase> run(phase start);

private:
    struct entry {
        executor exec;
        std::string prefix;
    };
    static constexpr std::size_t phase_count = static_cast<std::size_t>(phase::error) + 1;
    std::array<entry, phase_count> phases_{};
    progress& progress_;
};

}  // namespace cdi
