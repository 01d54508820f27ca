#pragma once
// One host-assisted clone from the source side (contract 6.8): measure the volume (the progress's
// total, as CDI), open the upload (mutual TLS, one chunked POST), then stream: a producer thread
// reads the volume (block_stream or tree_stream) and frames it into framed_pipe's slots while this
// thread sends each full slot. The request ends with the last chunk only when the producer finished
// cleanly, so a failure on this side can never look like a complete stream to the target.
//
// Outcome: success only on a 2xx answer. A producer failure, an I/O error or a non-2xx answer
// (reported with the server's status and body, its first 512 bytes) is the error; the caller exits
// non-zero and the kubelet reruns the pod.
#include "cdi/error.hpp"
#include "cloner/cloner_config.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace cdi {

// Bytes of the payload sent so far against CDI's estimate; thread-safe.
class clone_progress {
public:
    void set_total(std::uint64_t n) noexcept { total_.store(n, std::memory_order_relaxed); }
    void set_sent(std::uint64_t n) noexcept { sent_.store(n, std::memory_order_relaxed); }
    void mark_done() noexcept { done_.store(true, std::memory_order_relaxed); }
    std::uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
    std::uint64_t total() const noexcept { return total_.load(std::memory_order_relaxed); }
    // 0..100 (the metrics server keeps it from decreasing); 100 once done.
    double percent() const noexcept {
        if (done_.load(std::memory_order_relaxed)) return 100.0;
        const std::uint64_t t = total();
        if (t == 0) return 0.0;
        return std::min(100.0, static_cast<double>(sent()) * 100.0 / static_cast<double>(t));
    }

private:
    std::atomic<std::uint64_t> total_{0};
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<bool> done_{false};
};

result<void> run_clone(const cloner_config& cfg, clone_progress& progress);

}  // namespace cdi
