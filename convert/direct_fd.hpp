#pragma once
// A target descriptor's O_DIRECT mode and its write loop, shared by both writers of a job's target
// (target_sink appends, positional_target writes at guest offsets): the one place that turns
// O_DIRECT on and off, and that falls back to buffered I/O for good when the filesystem refuses it.
//
// - enable(): sets O_DIRECT; when the filesystem refuses (EINVAL at F_SETFL), logs once and stays
//   buffered.
// - in_use(): O_DIRECT is wanted and has not been given up. is_set(): the flag is on the descriptor
//   right now (a writer turns it off for an unaligned edge, then on again).
// - pwrite_all(): the whole range at the offset, EINTR and short writes retried; an EINVAL under
//   O_DIRECT (a filesystem that takes the flag but not the I/O) gives O_DIRECT up, logged, and retries.
// Does not own the descriptor. Thread-safety: none.
#include "cdi/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace cdi {

class direct_fd {
public:
    direct_fd(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

    void enable();
    bool in_use() const noexcept { return in_use_; }
    bool is_set() const noexcept { return is_set_; }
    result<void> set(bool on);
    // O_DIRECT off, for good (unaligned reads and writes follow).
    result<void> give_up();
    result<void> pwrite_all(const std::byte* p, std::size_t len, std::uint64_t off);

private:
    int fd_;
    std::string name_;
    bool in_use_ = false;
    bool is_set_ = false;
};

}  // namespace cdi
