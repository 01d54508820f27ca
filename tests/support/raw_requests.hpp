#pragma once
// Raw HTTP/1.1 requests to the real cdi-uploadserver over tls_client, for what curl will not send
// (malformed framing, a body held half-sent, requests racing an upload), and the parsed answer.
// Shared by the upload server's integration tests.
#include "support/tls_client.hpp"
#include "support/upload_server_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

namespace cdi::test {

struct exchange {
    std::string status_line;  // "HTTP/1.1 414 URI Too Long", or "" when nothing came back
    std::string head;         // the response header section, lower-cased
    std::string body;
    bool closed = false;      // the server closed the connection after answering
};

inline exchange parse_response(const std::string& raw, bool closed) {
    exchange e;
    e.closed = closed;
    const auto eol = raw.find("\r\n");
    const auto end = raw.find("\r\n\r\n");
    if (eol == std::string::npos || end == std::string::npos) return e;
    e.status_line = raw.substr(0, eol);
    e.head = raw.substr(0, end);
    std::transform(e.head.begin(), e.head.end(), e.head.begin(), [](unsigned char c) { return std::tolower(c); });
    e.body = raw.substr(end + 4);
    return e;
}

class raw_request_fixture : public upload_server_fixture {
protected:
    tls_client_options opts(const std::string& who = "client") const {
        tls_client_options o;
        o.ca = pki_.crt("ca");
        if (!who.empty()) {
            o.cert = pki_.crt(who);
            o.key = pki_.key(who);
        }
        return o;
    }

    // One request on a new connection with the client certificate; the answer, read until the
    // server closes or 5 s pass.
    exchange raw(const std::string& request) {
        tls_client c(port_, opts());
        EXPECT_TRUE(c.ok()) << c.error();
        c.send(request);
        const std::string out = c.read_all(std::chrono::seconds(5));
        return parse_response(out, c.closed());
    }

    bool healthz_ok() {
        const exchange e = raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        return e.status_line == "HTTP/1.1 200 OK" && e.body == "OK" && e.closed;
    }

    // A real upload of disk.raw after the abuse: 200, byte-exact, the process ends with 0.
    void expect_a_real_upload_works() {
        EXPECT_EQ(upload(dir_ / "disk.raw"), "200") << body() << server_->log();
        EXPECT_EQ(server_->wait(), 0) << server_->log();
        EXPECT_EQ(read_file(data_ / "disk.img"), read_file(dir_ / "disk.raw"));
    }
};

}  // namespace cdi::test
