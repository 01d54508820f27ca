#pragma once
// A hasher that digests on its own thread, so hashing the bytes a job receives does not add to the
// time of the thread that decompresses and decodes them. Measured on a containerdisk import (one
// gzip layer of 486 MB, docs/performance.md): SHA-256 of the layer was 17% of the job thread's
// time, beside 56% for the inflate.
//
// Contract:
// - update(data) copies data into the last queued slot while it has room, else into a free one of
//   `slots` buffers of `slot_size` bytes, and returns; it waits only while every slot is queued or
//   being hashed. The thread hashes the slots in the order filled, each once it is full or
//   followed by another (the last one at finish_hex), so the digest is the one `hasher` gives for
//   the same bytes.
// - finish_hex() waits for every queued slot, then returns the digest as lower-case hex. Ends the
//   hasher, as hasher::finish_hex does.
// - Errors: OpenSSL's failure on the thread comes back from the next update() or finish_hex().
// - Memory: the slots, allocated at the first update (a blob that is never read costs nothing).
// - The thread starts at the first update and never blocks on anything but this object's queue;
//   the destructor drops what is queued and joins it, so it returns at once whatever the job's
//   source is doing.
// Thread-safety: one caller thread; the hashing thread is internal.
#include "importer/stages/hasher.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cdi {

class background_hasher {
public:
    static constexpr std::size_t default_slots = 3;
    static constexpr std::size_t default_slot_size = 1u << 20;  // the gzip stage reads 1 MiB at a time

    static result<background_hasher> create(checksum_algorithm algorithm, std::size_t slots = default_slots,
                                            std::size_t slot_size = default_slot_size);
    ~background_hasher();
    background_hasher(background_hasher&& other) noexcept;
    background_hasher& operator=(background_hasher&&) = delete;
    background_hasher(const background_hasher&) = delete;
    background_hasher& operator=(const background_hasher&) = delete;

    result<void> update(std::span<const std::byte> data);
    result<std::string> finish_hex();

private:
    struct shared;  // the queue, its slots and the hasher: one allocation, its address stable for the thread

    explicit background_hasher(std::unique_ptr<shared> s) noexcept;
    void start();
    void stop(bool discard) noexcept;  // ends the thread; discard: without hashing what is queued

    std::unique_ptr<shared> s_;
    std::thread thread_;
};

}  // namespace cdi
