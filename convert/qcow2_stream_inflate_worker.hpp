#pragma once
// A second thread for compressed qcow2 clusters: the decoder's thread reads the stream and writes
// the target while this one inflates, and inflates too when this one falls behind. Clusters are inflated and handed back in submission order;
// at most 4 MiB of output (at least 2 clusters) are queued or done
// and not yet collected, so memory stays bounded and submit() waits when the worker falls behind.
// Ownership: owns its thread, stopped and joined by the destructor. Thread-safety: submit and
// collect are called from one thread (the decoder's).
#include "convert/qcow2_stream_inflate.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

namespace cdi {

class inflate_worker {
public:
    using emit_fn = std::function<result<void>(std::uint64_t guest, std::span<const std::byte> cluster)>;

    static result<std::unique_ptr<inflate_worker>> create(std::uint8_t compression_type, std::size_t cluster_size);
    inflate_worker(const inflate_worker&) = delete;
    inflate_worker& operator=(const inflate_worker&) = delete;
    ~inflate_worker();

    // Queues one compressed cluster for guest offset guest (the bytes are copied). Clusters already
    // inflated are handed to emit first; when the queue is full, inflates this one on the calling
    // thread and emits it (so up to two threads inflate).
    result<void> submit(std::uint64_t guest, std::span<const std::byte> compressed, const emit_fn& emit);
    // Hands every queued cluster to emit, waiting for the worker; the first error stops it.
    result<void> finish(const emit_fn& emit);

private:
    struct job {
        std::uint64_t guest = 0;
        std::vector<std::byte> in;
        std::vector<std::byte> out;
        bool done = false;
        result<void> status;
    };
    inflate_worker(qcow2_inflater inf, qcow2_inflater own, std::size_t cluster_size);
    void run();
    // Emits finished jobs from the front; with wait, waits until the front one is done (once).
    result<void> collect(bool wait, const emit_fn& emit);

    qcow2_inflater inflater_;      // the worker's
    qcow2_inflater own_inflater_;  // the caller's, when the queue is full
    std::vector<std::byte> own_buf_;
    std::size_t cluster_size_;
    std::size_t max_jobs_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<job>> jobs_;  // submission order; the worker takes the first not done
    std::size_t next_ = 0;                   // index in jobs_ of the first job the worker has not started
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace cdi
