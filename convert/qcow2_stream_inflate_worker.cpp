#include "convert/qcow2_stream_inflate_worker.hpp"

#include <algorithm>

namespace cdi {

result<std::unique_ptr<inflate_worker>> inflate_worker::create(std::uint8_t compression_type, std::size_t cluster_size) {
    auto inf = qcow2_inflater::create(compression_type);
    if (!inf) return inf.error();
    auto own = qcow2_inflater::create(compression_type);
    if (!own) return own.error();
    return std::unique_ptr<inflate_worker>(new inflate_worker(std::move(*inf), std::move(*own), cluster_size));
}

inflate_worker::inflate_worker(qcow2_inflater inf, qcow2_inflater own, std::size_t cluster_size)
    : inflater_(std::move(inf)), own_inflater_(std::move(own)), own_buf_(cluster_size), cluster_size_(cluster_size), max_jobs_(std::max<std::size_t>(2, (4u << 20) / cluster_size)) {
    thread_ = std::thread([this] { run(); });
}

inflate_worker::~inflate_worker() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void inflate_worker::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || next_ < jobs_.size(); });
        if (stop_) return;
        job* j = jobs_[next_].get();
        lock.unlock();
        j->out.resize(cluster_size_);
        j->status = inflater_.inflate(j->in, j->out);
        lock.lock();
        j->done = true;
        ++next_;
        cv_.notify_all();
    }
}

result<void> inflate_worker::collect(bool wait, const emit_fn& emit) {
    for (;;) {
        std::unique_ptr<job> j;
        {
            std::unique_lock lock(mu_);
            if (jobs_.empty()) return {};
            if (wait) cv_.wait(lock, [this] { return jobs_.front()->done; });
            if (!jobs_.front()->done) return {};
            j = std::move(jobs_.front());
            jobs_.pop_front();
            --next_;
        }
        wait = false;
        if (!j->status) return j->status;
        if (auto r = emit(j->guest, j->out); !r) return r;
    }
}

result<void> inflate_worker::submit(std::uint64_t guest, std::span<const std::byte> compressed, const emit_fn& emit) {
    if (auto r = collect(false, emit); !r) return r;
    bool full = false;
    {
        std::lock_guard lock(mu_);
        full = jobs_.size() >= max_jobs_;
    }
    if (full) {
        // The worker is behind: this thread inflates the cluster itself (clusters map disjoint guest
        // ranges, so the order they are written in does not matter), then both threads are busy.
        if (auto r = own_inflater_.inflate(compressed, own_buf_); !r) return r;
        return emit(guest, own_buf_);
    }
    auto j = std::make_unique<job>();
    j->guest = guest;
    j->in.assign(compressed.begin(), compressed.end());
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(std::move(j));
    }
    cv_.notify_all();
    return {};
}

result<void> inflate_worker::finish(const emit_fn& emit) {
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (jobs_.empty()) return {};
        }
        if (auto r = collect(true, emit); !r) return r;
    }
}

}  // namespace cdi
