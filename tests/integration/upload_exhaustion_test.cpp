// The upload server under resource exhaustion (issue 12.3; the accept backoff under EMFILE is
// tests/importer/pod/listener_test.cpp): thousands of idle unauthenticated connections cost little (capped, no
// TLS state before a first byte, no 64 KiB buffer before an upload) while a real upload completes.
#include "support/tls_client.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::tls_client;
using test::tls_client_options;

// A plain TCP connection to 127.0.0.1:port, closed on destruction.
class raw_conn {
public:
    explicit raw_conn(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    raw_conn(const raw_conn&) = delete;
    raw_conn& operator=(const raw_conn&) = delete;
    ~raw_conn() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool ok() const { return fd_ >= 0; }
    void send(std::string_view s) { [[maybe_unused]] auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }

private:
    int fd_ = -1;
};

class upload_exhaustion_test : public test::upload_server_fixture {
protected:
    // Opens `total` connections to the started server, of which `handshaken` finish an anonymous TLS
    // handshake and, of the rest, every other one sends the start of a ClientHello when
    // `half_hellos` (the server then takes TLS state and waits); the others send nothing. With all of
    // them held, a real upload must be byte-exact; returns the server's peak RSS in KiB.
    std::uint64_t peak_rss_kib_with_held_connections(int total, int handshaken, bool half_hellos) {
        rlimit lim{};
        EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
        lim.rlim_cur = lim.rlim_max;
        EXPECT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);
        auto& s = start();
        const std::uint64_t idle_kib = s.vm_hwm_kib();

        tls_client_options anonymous;
        anonymous.ca = pki_.crt("ca");
        std::vector<std::unique_ptr<tls_client>> tls;
        for (int i = 0; i < handshaken; ++i) tls.push_back(std::make_unique<tls_client>(port_, anonymous));
        std::vector<std::unique_ptr<raw_conn>> raw;
        // A TLS record header and the start of a ClientHello.
        const std::string hello_start("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
        for (int i = 0; i < total - handshaken; ++i) {
            raw.push_back(std::make_unique<raw_conn>(port_));
            if (half_hellos && i % 2 == 0) raw.back()->send(hello_start);
        }
        const auto opened = std::count_if(raw.begin(), raw.end(), [](const auto& c) { return c->ok(); });
        EXPECT_EQ(opened, total - handshaken);
        EXPECT_TRUE(std::all_of(tls.begin(), tls.end(), [](const auto& c) { return c->ok(); }));

        std::string upload_status = upload(dir_ / "disk.raw");
        const std::uint64_t peak_kib = s.vm_hwm_kib();
        EXPECT_EQ(upload_status, "200") << body();
        EXPECT_EQ(s.wait(), 0);
        EXPECT_EQ(test::read_file(data_ / "disk.img"), test::read_file(dir_ / "disk.raw"));
        std::printf("peak RSS: %llu KiB idle, %llu KiB with %d held connections and an upload\n",
                    static_cast<unsigned long long>(idle_kib), static_cast<unsigned long long>(peak_kib), total);
        RecordProperty("peak_rss_kib", std::to_string(peak_kib));
        return std::max(peak_kib, s.max_rss_kib());
    }

    static bool enough_descriptors(int total) {
        rlimit lim{};
        return ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_max >= static_cast<rlim_t>(total + 512);
    }
};

// Issue 12.3's goal as written: 5,000 idle unauthenticated connections (they connect and send
// nothing) keep the server under 64 MiB while a real upload completes. They hold no TLS state and no
// buffer; the cap of held connections closes the oldest ones.
TEST_F(upload_exhaustion_test, five_thousand_idle_unauthenticated_connections_stay_under_64_mib_while_an_upload_completes) {
    if (!enough_descriptors(5000)) GTEST_SKIP() << "needs 5512 descriptors";
    EXPECT_LT(peak_rss_kib_with_held_connections(5000, 0, false), 64u * 1024);
}

// The harder flood: 300 finished anonymous handshakes and 2,350 half ClientHellos among the 5,000, so
// every TLS slot (288) is taken. Measured 68.5 MiB (the upload alone peaks at 25.8 MiB; each TLS slot
// costs ~68 KiB, Asio's stream and BIO-pair buffers), so the bound pinned here is 80 MiB until a TLS
// connection gets cheaper (docs/performance.md).
TEST_F(upload_exhaustion_test, five_thousand_connections_filling_every_tls_slot_stay_under_80_mib_while_an_upload_completes) {
    if (!enough_descriptors(5000)) GTEST_SKIP() << "needs 5512 descriptors";
    EXPECT_LT(peak_rss_kib_with_held_connections(5000, 300, true), 80u * 1024);
}

}  // namespace
}  // namespace cdi
