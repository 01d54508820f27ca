#pragma once
// The hand-off of an upload body from the connection coroutine (io thread) to the import job
// (worker thread), with backpressure (architecture.md, "walk of one byte"): a pool of N chunks
// allocated once. The io side fills a free chunk from the socket and pushes it; when every chunk is
// full it waits, so the socket is not read and TCP's window closes. The worker pops filled chunks
// in order and releases them once copied.
//
// Wake-ups of the io side go through wake(), a timer only touched on the io thread: the worker
// posts its cancel() to the executor, so a check-then-wait on the io thread never misses one.
// Lifetime: held by shared_ptr; posted wake-ups keep it alive.
#include "cdi/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace cdi {

class body_channel : public std::enable_shared_from_this<body_channel> {
public:
    // 1 MiB: large enough that a chunk is hundreds of TLS records, small enough that 4 in flight
    // bound the memory of an upload.
    static constexpr std::size_t chunk_size = 1 << 20;
    static constexpr std::size_t default_chunks = 4;

    struct filled {
        std::size_t index;
        std::span<const std::byte> data;
    };

    body_channel(boost::asio::any_io_executor io, std::size_t chunks = default_chunks);

    // io side. acquire(): a free chunk to fill, or an empty span when all are full. push(): hand
    // the chunk from the last acquire() with its first n bytes filled.
    std::span<std::byte> acquire();
    void push(std::size_t n);
    void finish();                 // the body ended cleanly
    void fail(error e);            // the body was cut short, or the upload is canceled
    bool consumer_closed() const;  // the worker is done: stop reading the body
    boost::asio::steady_timer& wake() { return wake_; }
    // io side: while set, a consumer that closes (the job ended before its body, e.g. an image refused
    // at its header) also calls abort_read on the io thread, so a socket read waiting for bytes the
    // client may never send soon is cut short and the session answers at once. Cleared with {}.
    void set_abort_read(std::function<void()> abort_read) { abort_read_ = std::move(abort_read); }

    // worker side. pop() blocks; nullopt = clean end of body; an error = the body failed.
    result<std::optional<filled>> pop();
    void release(std::size_t index);
    void close_consumer();         // the job returned; wakes the io side
    // Any thread: wakes the io side (posts the cancel of wake()), e.g. when the job validated the
    // image. The io side re-checks what it waits for after every wake-up.
    void notify_io();

private:

    std::vector<std::byte> pool_;
    std::size_t chunks_;
    std::vector<std::size_t> free_;             // indexes of free chunks
    std::optional<std::size_t> acquired_;       // the chunk the io side is filling
    std::deque<std::pair<std::size_t, std::size_t>> full_;  // (index, bytes) in body order
    bool finished_ = false;
    std::optional<error> failure_;
    bool consumer_closed_ = false;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    boost::asio::steady_timer wake_;            // io thread only
    std::function<void()> abort_read_;          // io thread only
};

}  // namespace cdi
