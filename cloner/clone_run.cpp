#include "cloner/clone_run.hpp"

#include "cloner/block_stream.hpp"
#include "cloner/framed_pipe.hpp"
#include "cloner/tree_stream.hpp"
#include "cloner/upload_client.hpp"
#include "cloner/volume_size.hpp"
#include "convert/block_device.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <functional>
#include <thread>

namespace cdi {

namespace {

constexpr std::size_t max_reported_body = 512;

std::string cut(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.size() > max_reported_body) s.resize(max_reported_body);
    return s;
}

error refused(const upload_response& r) {
    return make_error(errc::source_http, "the upload server answered " + std::to_string(r.status) +
                                             (r.body.empty() ? std::string() : ": " + cut(r.body)));
}

// The producer: the volume's bytes into the pipe, on its own thread; joined (after abort when the
// sender gave up) before the pipe goes away.
class producer {
public:
    producer(framed_pipe& pipe, std::function<result<void>()> body)
        : pipe_(pipe), thread_([&pipe, body = std::move(body)] { pipe.finish(body()); }) {}
    ~producer() {
        pipe_.abort();
        if (thread_.joinable()) thread_.join();
    }
    producer(const producer&) = delete;
    producer& operator=(const producer&) = delete;

private:
    framed_pipe& pipe_;
    std::thread thread_;
};

}  // namespace

result<void> run_clone(const cloner_config& cfg, clone_progress& progress) {
    const std::string name = cfg.mount_point.string();
    std::optional<block_device> dev;
    if (cfg.mode == volume_mode::block) {
        auto d = open_block_device(cfg.mount_point, O_RDONLY);
        if (!d) return d.error();
        progress.set_total(d->size);
        dev = std::move(*d);
    } else {
        auto size = tree_size(cfg.mount_point, cfg.preallocation);
        if (!size) return size.error();
        progress.set_total(*size);
    }
    spdlog::info("Cloning {} ({} volume, {} bytes estimated{}) to {}", name, cfg.mode == volume_mode::block ? "block" : "filesystem",
                 progress.total(), cfg.preallocation ? ", preallocation" : "", cfg.upload_url);

    upload_client client;
    if (auto r = client.open(cfg.upload_url, cfg.credentials, {{"x-cdi-content-type", cfg.content_type()}}); !r) return r;

    framed_pipe pipe;
    std::function<result<void>()> body;
    if (dev) {
        body = [&] { return stream_block_device(dev->fd.get(), dev->size, name, pipe); };
    } else {
        body = [&] { return stream_tree(cfg.mount_point, !cfg.preallocation, pipe); };
    }
    std::uint64_t framed = 0;
    {
        producer prod(pipe, std::move(body));
        for (;;) {
            auto slot = pipe.next();
            if (!slot) return slot.error();  // the producer failed: no last chunk, the target sees a cut body
            if (slot->empty()) break;
            if (auto s = client.send(*slot); !s) {
                // The server may have answered (a refusal) before closing: its words say more than EPIPE.
                if (auto early = client.response(); early && early->status != 0) return refused(*early);
                return s.error();
            }
            framed += slot->size();
            pipe.release();
            progress.set_sent(pipe.raw_bytes());
        }
    }
    auto response = client.finish();
    if (!response) return response.error();
    if (response->status < 200 || response->status >= 300) return refused(*response);
    progress.set_sent(pipe.raw_bytes());
    progress.mark_done();
    spdlog::info("Sent {} bytes ({} framed); the upload server answered {}", pipe.raw_bytes(), framed, response->status);
    return {};
}

}  // namespace cdi
