#pragma once
// Progress of one job, shared between the worker thread (writer) and whoever reports it (metrics
// endpoint, logs). Every field is atomic; readers never block the data path.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

namespace cdi {

// CDI's DataProcessor phases (contract section 2.1), with CDI's names.
enum class phase {
    info,
    transfer_scratch,
    transfer_data_file,
    transfer_data_dir,
    validate_pause,
    convert,
    resize,
    complete,
    pause,
    error,
};

constexpr std::string_view phase_name(phase p) noexcept {
    switch (p) {
    case phase::info: return "Info";
    case phase::transfer_scratch: return "TransferScratch";
    case phase::transfer_data_file: return "TransferDataFile";
    case phase::transfer_data_dir: return "TransferDataDir";
    case phase::validate_pause: return "ValidatePause";
    case phase::convert: return "Convert";
    case phase::resize: return "Resize";
    case phase::complete: return "Complete";
    case phase::pause: return "Pause";
    case phase::error: return "Error";
    }
    return "Unknown";
}

class progress {
public:
    void set_phase(phase p) noexcept { phase_.store(p, std::memory_order_relaxed); }
    phase current_phase() const noexcept { return phase_.load(std::memory_order_relaxed); }

    // Bytes taken from the origin (before decompression) and their expected total, when known.
    void add_wire_bytes(std::uint64_t n) noexcept { wire_bytes_.fetch_add(n, std::memory_order_relaxed); }
    void set_wire_total(std::uint64_t n) noexcept { wire_total_.store(n, std::memory_order_relaxed); }
    std::uint64_t wire_bytes() const noexcept { return wire_bytes_.load(std::memory_order_relaxed); }
    std::uint64_t wire_total() const noexcept { return wire_total_.load(std::memory_order_relaxed); }

    // When the image needs conversion, the transfer counts for the first half and qemu-img's own
    // progress for the second, so one counter covers both (CDI's cannot move after a 100% download).
    void set_needs_conversion(bool v) noexcept { needs_conversion_.store(v, std::memory_order_relaxed); }
    void set_convert_percent(double pct) noexcept { convert_pct_.store(pct, std::memory_order_relaxed); }
    void mark_transfer_done() noexcept { transfer_done_.store(true, std::memory_order_relaxed); }
    // The image was received in full and passed validation (CDI's ValidatePause point: for a raw
    // image once it is written within capacity, for a convertible one once our inspector, qemu-img
    // check and qemu-img info accepted it, before conversion). Async uploads answer 200 here.
    // The first call also calls the listener (on the job's thread), so a waiter needs no polling.
    void mark_validated() noexcept {
        if (!validated_.exchange(true, std::memory_order_acq_rel) && on_validated_) on_validated_();
    }
    bool validated() const noexcept { return validated_.load(std::memory_order_acquire); }
    // Set before the job starts (not synchronized with mark_validated). An exception from it ends
    // the process (noexcept); the upload session's listener only posts a wake-up to its executor.
    void on_validated(std::function<void()> listener) { on_validated_ = std::move(listener); }
    void mark_complete() noexcept { complete_.store(true, std::memory_order_relaxed); }

    // 0..100, never decreasing between calls.
    double percent() const noexcept {
        double transfer = 0.0;
        if (transfer_done_.load(std::memory_order_relaxed)) {
            transfer = 100.0;
        } else if (auto total = wire_total(); total > 0) {
            transfer = std::min(100.0, 100.0 * static_cast<double>(wire_bytes()) / static_cast<double>(total));
        }
        double pct = transfer;
        if (complete_.load(std::memory_order_relaxed)) {
            pct = 100.0;
        } else if (needs_conversion_.load(std::memory_order_relaxed)) {
            pct = transfer / 2.0 + std::clamp(convert_pct_.load(std::memory_order_relaxed), 0.0, 100.0) / 2.0;
        }
        double prev = last_.load(std::memory_order_relaxed);
        while (pct > prev && !last_.compare_exchange_weak(prev, pct, std::memory_order_relaxed)) {
        }
        return std::max(pct, prev);
    }

private:
    std::atomic<phase> phase_{phase::info};
    std::atomic<std::uint64_t> wire_bytes_{0};
    std::atomic<std::uint64_t> wire_total_{0};
    std::atomic<bool> needs_conversion_{false};
    std::atomic<bool> transfer_done_{false};
    std::atomic<bool> complete_{false};
    std::atomic<bool> validated_{false};
    std::function<void()> on_validated_;
    std::atomic<double> convert_pct_{0.0};
    mutable std::atomic<double> last_{0.0};
};

// Set once (SIGTERM, deadline, client gone); polled by long-running steps between chunks.
class cancel_token {
public:
    cancel_token() = default;
    // A token that is also canceled whenever `*parent` is (a source's own token below the job's,
    // so the source can be stopped alone). The parent must outlive it.
    explicit cancel_token(const cancel_token* parent) noexcept : parent_(parent) {}
    cancel_token(const cancel_token&) = delete;
    cancel_token& operator=(const cancel_token&) = delete;

    void cancel() noexcept { canceled_.store(true, std::memory_order_relaxed); }
    bool canceled() const noexcept {
        return canceled_.load(std::memory_order_relaxed) || (parent_ != nullptr && parent_->canceled());
    }

private:
    std::atomic<bool> canceled_{false};
    const cancel_token* parent_ = nullptr;
};

}  // namespace cdi
