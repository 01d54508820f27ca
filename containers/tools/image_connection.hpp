#pragma once
// One client connection of cdi-containerimage-server: reads request heads (8 KiB at most), answers
// GET/HEAD of the image file (whole or one byte range, the body sent with sendfile(2) in pieces),
// GET /info, and errors, and keeps the connection open between requests until the client closes
// it, asks to close, or stays idle for the idle timeout. Runs on its own thread; never throws.
#include "cdi/unique_fd.hpp"
#include "containers/tools/http_request.hpp"
#include "containers/tools/image_dir.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace cdi {

// What every connection serves; owned by main, alive until the process exits.
struct serve_context {
    const served_image* image = nullptr;
    std::string info_json;  // GET /info body
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
};

class image_connection {
public:
    // Request heads larger than this are refused (431) and the connection closed.
    static constexpr std::size_t max_head_bytes = 8 * 1024;

    image_connection(unique_fd socket, const serve_context& ctx);

    // Serves requests until the connection ends; closes the socket on return.
    void run();

private:
    enum class head_status { ok, closed, too_large };
    head_status read_head(std::string& head);
    // Answers one request; false when the connection must close afterwards.
    bool answer(const http_request& req);
    bool answer_image(const http_request& req, bool keep_alive);
    bool send_simple(int status, std::string_view body, bool head_only, bool keep_alive, std::string_view extra = {});
    bool send_all(std::string_view bytes, bool more);
    bool send_file(std::uint64_t offset, std::uint64_t length);

    unique_fd socket_;
    const serve_context& ctx_;
    std::string buffer_;  // bytes received and not yet consumed (pipelined requests)
};

}  // namespace cdi
