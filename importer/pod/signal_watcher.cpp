#include "importer/pod/signal_watcher.hpp"

#include "scratch/scratch_file.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace cdi {
namespace {

sigset_t watched_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);  // internal: wakes the watcher at destruction
    return set;
}

}  // namespace

signal_watcher::signal_watcher(cancel_token& cancel, std::chrono::seconds grace) : cancel_(cancel), grace_(grace) {
    sigset_t set = watched_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    thread_ = std::jthread([this, set](std::stop_token stop) {
        int sig = 0;
        while (sigwait(&set, &sig) == 0) {
            if (stop.stop_requested()) return;
            if (sig == SIGUSR1) continue;
            spdlog::warn("Received signal {}: canceling the job", sig);
            cancel_.cancel();
            auto deadline = std::chrono::steady_clock::now() + grace_;
            while (std::chrono::steady_clock::now() < deadline) {
                if (stop.stop_requested()) return;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            spdlog::error("The job did not stop within {}s of the signal: removing scratch files and exiting", grace_.count());
            scratch_file::remove_all_registered();
            ::_exit(1);
        }
    });
}

signal_watcher::~signal_watcher() {
    thread_.request_stop();
    pthread_kill(thread_.native_handle(), SIGUSR1);
}

}  // namespace cdi
