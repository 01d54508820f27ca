// cdi-containerimage-server: copied into a containerdisk image and run there by CDI's node pull
// (contract 1.7), so it is a static executable that needs nothing from the image. Serves the image
// directory's single file on localhost, writes the file's name into the ready file, and exits 0
// once the done file appears (or on SIGTERM/SIGINT). Exit 1: the image cannot be served; exit 2: a
// bad command line (Go's flag package).
//
// Test hooks (environment): CDI_IMAGE_SERVER_ROOT, the root the bootc check looks under (default
// "/"); CDI_IMAGE_SERVER_IDLE_SECONDS, the idle timeout of a connection (default 60).
#include "containers/tools/image_dir.hpp"
#include "containers/tools/image_server.hpp"
#include "containers/tools/info_json.hpp"
#include "containers/tools/server_log.hpp"
#include "containers/tools/server_options.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

using namespace cdi;

[[noreturn]] void die(int status, const std::string& why) {
    server_log(why);
    std::_Exit(status);
}

// Writes the name next to the ready file and renames it into place, so the importer, which polls for
// the file, never reads it half-written.
bool write_ready_file(const std::string& path, const std::string& name, std::string& why) {
    const std::string tmp = path + ".tmp";
    unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd || ::write(fd.get(), name.data(), name.size()) != static_cast<ssize_t>(name.size()) || ::close(fd.release()) != 0 ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        why = "cannot write the ready file " + path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

std::chrono::milliseconds idle_timeout() {
    const char* v = std::getenv("CDI_IMAGE_SERVER_IDLE_SECONDS");
    const long secs = v ? std::strtol(v, nullptr, 10) : 0;
    return std::chrono::seconds(secs > 0 ? secs : 60);
}

}  // namespace

int main(int argc, char** argv) {
    std::string why;
    auto opts = parse_server_options(argc, argv, why);
    if (!opts) die(2, why);

    const char* root = std::getenv("CDI_IMAGE_SERVER_ROOT");
    if (auto marker = bootc_marker(root && *root ? root : "/"); !marker.empty())
        die(1, "refusing to serve a bootc image: " + marker + " exists");

    auto image = open_served_image(opts->image_dir, why);
    if (!image) die(1, why);

    serve_context ctx;
    ctx.image = &*image;
    ctx.info_json = environment_json(environ);
    ctx.idle_timeout = idle_timeout();

    // Signals are taken through a signalfd by the accept loop: blocked here, before any thread
    // starts, so every connection thread inherits the mask. A peer that closes early must not kill
    // us with SIGPIPE (sendfile cannot take MSG_NOSIGNAL).
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    ::sigprocmask(SIG_BLOCK, &stop, nullptr);
    unique_fd signals(::signalfd(-1, &stop, SFD_CLOEXEC));
    if (!signals) die(1, std::string("signalfd: ") + std::strerror(errno));

    auto server = image_server::listen(opts->port, why);
    if (!server) die(1, why);
    server_log("serving " + opts->image_dir + "/" + image->name + " (" + std::to_string(image->size) +
               " bytes) listening on 127.0.0.1:" + std::to_string(server->port()));
    if (!write_ready_file(opts->ready_file, image->name, why)) die(1, why);

    const std::string stopped = server->serve(ctx, opts->done_file, signals.get());
    server_log(stopped + ": exiting");
    std::_Exit(0);
}
