#pragma once
// A file name staged inside scratch space (e.g. /scratch/tmpimage). The caller creates and writes the
// file; this object owns its removal: the file is unlinked when the object is destroyed, on success,
// failure or cancellation alike.
//
// Every live scratch_file is also recorded in a process-wide registry of fixed size, so that a
// SIGTERM handler can remove the staged files before the process exits (the destructors do not run
// then). remove_all_registered() only reads atomics and calls unlink(2): it is async-signal-safe.
//
// Thread safety: scratch_files may be created and destroyed on any threads concurrently.
#include "cdi/error.hpp"

#include <cstddef>
#include <filesystem>
#include <utility>

namespace cdi {

class scratch_file {
public:
    // How many staged files can be live at once (an import stages one; the spare slots are for
    // concurrent jobs in tests and the registry's nested layers).
    static constexpr std::size_t max_registered = 32;

    // Takes ownership of path (which should not exist yet or is removed with this object) and
    // registers it. Fails with errc::io when the registry is full or the path is too long to record.
    static result<scratch_file> adopt(std::filesystem::path path);

    scratch_file(scratch_file&& o) noexcept;
    scratch_file& operator=(scratch_file&& o) noexcept;
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;
    ~scratch_file();

    const std::filesystem::path& path() const noexcept { return path_; }

    // Unlinks every registered file. Async-signal-safe: for a SIGTERM handler, before _exit.
    static void remove_all_registered() noexcept;

private:
    scratch_file(std::filesystem::path path, int slot) noexcept : path_(std::move(path)), slot_(slot) {}
    void release() noexcept;

    std::filesystem::path path_;
    int slot_ = -1;  // index in the registry, -1 once moved from
};

}  // namespace cdi
