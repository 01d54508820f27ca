// cdi-containerimage-server as CDI's node pull runs it (contract 1.7): the built static binary, a
// real process on a free port, curl and plain sockets as clients.
#include "containers/image_server_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::image_server_fixture;
using test::raw_client;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

class containerimage_server : public image_server_fixture {
protected:
    struct response {
        std::string code;  // curl's %{http_code}, or curl's failure
        std::string headers;
        std::string body;
    };
    // One curl request; extra: curl options (-I, -H 'Range: ...', --path-as-is).
    response fetch(const std::string& path, const std::string& extra = "") {
        fs::remove(dir_ / "headers");
        fs::remove(dir_ / "body");
        auto code = curl("-D " + (dir_ / "headers").string() + " -o " + (dir_ / "body").string() + " -w '%{http_code}' " +
                         extra + " '" + url(path) + "'");
        return {code, test::slurp(dir_ / "headers"), test::slurp(dir_ / "body")};
    }
    std::string range(const std::string& spec) { return "-H 'Range: bytes=" + spec + "'"; }
};

TEST_F(containerimage_server, head_answers_size_range_support_and_modification_time_without_a_body) {
    start();
    const std::string mtime = test::must_run("date -u -r '" + (disk_ / "disk.img").string() + "' '+%a, %d %b %Y %H:%M:%S GMT'");
    auto r = fetch("/disk.img", "-I");
    EXPECT_EQ(r.code, "200");
    EXPECT_TRUE(contains(r.headers, "Content-Length: 5242880\r\n")) << r.headers;
    EXPECT_TRUE(contains(r.headers, "Accept-Ranges: bytes\r\n")) << r.headers;
    EXPECT_TRUE(contains(r.headers, "Last-Modified: " + mtime.substr(0, mtime.size() - 1) + "\r\n")) << r.headers << mtime;
    EXPECT_TRUE(contains(r.headers, "Content-Type: application/octet-stream\r\n")) << r.headers;

    raw_client c(port_);
    ASSERT_TRUE(c.connected());
    c.send("HEAD /disk.img HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const std::string raw = c.read_until_close();
    EXPECT_TRUE(c.closed());
    EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << "a HEAD answer carries no body: " << raw.size() << " bytes";
}

TEST_F(containerimage_server, get_returns_the_whole_file) {
    start();
    auto r = fetch("/disk.img");
    EXPECT_EQ(r.code, "200");
    EXPECT_TRUE(r.body == image_) << r.body.size() << " bytes";
}

TEST_F(containerimage_server, single_byte_ranges_are_served_as_206_with_content_range) {
    start();
    struct expect {
        std::string spec;
        std::size_t first, last;
    };
    const std::size_t size = image_.size();
    for (const auto& e : std::vector<expect>{{"0-0", 0, 0},
                                             {"1048576-2097151", 1048576, 2097151},
                                             {"-4096", size - 4096, size - 1},
                                             {"5242000-", 5242000, size - 1},
                                             {"5000000-99999999", 5000000, size - 1},
                                             {"-99999999", 0, size - 1}}) {
        auto r = fetch("/disk.img", range(e.spec));
        EXPECT_EQ(r.code, "206") << e.spec;
        EXPECT_TRUE(contains(r.headers, "Content-Range: bytes " + std::to_string(e.first) + "-" + std::to_string(e.last) + "/" +
                                            std::to_string(size) + "\r\n"))
            << e.spec << "\n" << r.headers;
        EXPECT_TRUE(contains(r.headers, "Content-Length: " + std::to_string(e.last - e.first + 1) + "\r\n")) << e.spec;
        EXPECT_TRUE(r.body == image_.substr(e.first, e.last - e.first + 1)) << e.spec << ": " << r.body.size() << " bytes";
    }
}

TEST_F(containerimage_server, ranges_past_the_end_are_unsatisfiable_416) {
    start();
    for (const std::string spec : {"5242880-", "6000000-7000000", "-0", "9-3", "x-y"}) {
        auto r = fetch("/disk.img", range(spec));
        EXPECT_EQ(r.code, "416") << spec;
        EXPECT_TRUE(contains(r.headers, "Content-Range: bytes */5242880\r\n")) << spec << "\n" << r.headers;
    }
}

TEST_F(containerimage_server, a_stale_if_range_or_several_ranges_get_the_whole_file) {
    start();
    auto stale = fetch("/disk.img", range("0-9") + " -H 'If-Range: Mon, 01 Jan 2001 00:00:00 GMT'");
    EXPECT_EQ(stale.code, "200");
    EXPECT_EQ(stale.body.size(), image_.size());
    auto multi = fetch("/disk.img", range("0-1,5-6"));
    EXPECT_EQ(multi.code, "200");
    EXPECT_EQ(multi.body.size(), image_.size());
}

TEST_F(containerimage_server, concurrent_downloads_each_get_the_whole_file_while_another_client_idles) {
    start();
    raw_client idle(port_);  // a connection that never sends a request must not hold up the others
    ASSERT_TRUE(idle.connected());
    const std::string a = (dir_ / "a").string(), b = (dir_ / "b").string();
    auto out = test::run_command("curl -sS --limit-rate 20M -o " + a + " '" + url("/disk.img") + "' & curl -sS --limit-rate 20M -o " + b +
                                 " '" + url("/disk.img") + "' & wait");
    EXPECT_EQ(out.status, 0) << out.output;
    EXPECT_TRUE(test::slurp(a) == image_);
    EXPECT_TRUE(test::slurp(b) == image_);
}

TEST_F(containerimage_server, keep_alive_answers_pipelined_requests_on_one_connection) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.connected());
    c.send("HEAD /disk.img HTTP/1.1\r\nHost: localhost\r\n\r\n"
           "GET /disk.img HTTP/1.1\r\nHost: localhost\r\nRange: bytes=0-9\r\n\r\n"
           "GET /nothing HTTP/1.1\r\nHost: localhost\r\n\r\n"
           "GET /info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const std::string raw = c.read_until_close();
    EXPECT_TRUE(c.closed()) << "Connection: close must close";
    std::size_t answers = 0;
    for (auto at = raw.find("HTTP/1.1 "); at != std::string::npos; at = raw.find("HTTP/1.1 ", at + 1)) ++answers;
    EXPECT_EQ(answers, 4u) << raw.substr(0, 2000);
    EXPECT_TRUE(contains(raw, "HTTP/1.1 206 Partial Content\r\n"));
    EXPECT_TRUE(contains(raw, "\r\n\r\n" + image_.substr(0, 10) + "HTTP/1.1 404 Not Found\r\n"));
    EXPECT_TRUE(raw.ends_with("]}")) << raw.substr(raw.size() > 200 ? raw.size() - 200 : 0);
}

TEST_F(containerimage_server, info_lists_the_server_environment_as_escaped_json) {
    start({{"KUBEVIRT_IO_TEST", "x"}, {"ODD", "a\"b\\c<\x01\xff"}});
    auto r = fetch("/info");
    EXPECT_EQ(r.code, "200");
    EXPECT_TRUE(contains(r.headers, "Content-Type: application/json\r\n")) << r.headers;
    EXPECT_EQ(r.body, "{\"env\":[\"CDI_IMAGE_SERVER_ROOT=" + dir_.path().string() +
                          "\",\"KUBEVIRT_IO_TEST=x\",\"ODD=a\\\"b\\\\c\\u003c\\u0001\\ufffd\"]}");
}

TEST_F(containerimage_server, only_paths_naming_the_file_are_served_everything_else_is_404) {
    start();
    for (const std::string path : {"/", "/other.img", "/disk.img/", "/disk.img.bak", "/disk/disk.img", "/Disk.img"}) {
        EXPECT_EQ(fetch(path, "--path-as-is").code, "404") << path;
    }
    for (const std::string path : {"//disk.img", "/./disk.img", "/x/../disk.img", "/../disk.img", "/disk%2Eimg", "/disk.img?x=1"}) {
        auto r = fetch(path, "--path-as-is " + range("0-3"));
        EXPECT_EQ(r.code, "206") << path;
        EXPECT_EQ(r.body, image_.substr(0, 4)) << path;
    }
}

TEST_F(containerimage_server, malformed_requests_get_400_oversized_heads_431_other_methods_405) {
    start();
    auto exchange = [&](const std::string& request) {
        raw_client c(port_);
        EXPECT_TRUE(c.connected());
        c.send(request);
        std::string answer = c.read_until_close();
        EXPECT_TRUE(c.closed()) << request.substr(0, 40);
        return answer.substr(0, answer.find("\r\n"));
    };
    EXPECT_EQ(exchange("garbage\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(exchange("GET /disk.img HTTP/2.0\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(exchange("GET /disk%zzimg HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(exchange("GET /disk.img HTTP/1.1\r\nHost x\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(exchange("GET /disk.img HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n"),
              "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(exchange("GET /disk.img HTTP/1.1\r\nX-Big: " + std::string(9000, 'a')), "HTTP/1.1 431 Request Header Fields Too Large");
    EXPECT_EQ(exchange("POST /disk.img HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
}

TEST_F(containerimage_server, an_idle_connection_is_closed_after_the_idle_timeout) {
    start({{"CDI_IMAGE_SERVER_IDLE_SECONDS", "1"}});
    raw_client c(port_);
    ASSERT_TRUE(c.connected());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c.read_until_close(std::chrono::seconds(5)), "");
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_TRUE(c.closed()) << "still open after 5 s";
    EXPECT_GE(waited, std::chrono::milliseconds(900));
    EXPECT_LT(waited, std::chrono::seconds(3));
}

TEST_F(containerimage_server, listens_on_the_ipv6_loopback_too) {
    start();
    if (contains(server_->log(), "not listening on [::1]")) GTEST_SKIP() << "no IPv6 loopback here: " << server_->log();
    auto code = curl("-o /dev/null -w '%{http_code}' -I 'http://[::1]:" + std::to_string(port_) + "/disk.img'");
    EXPECT_EQ(code, "200");
}

TEST_F(containerimage_server, ready_file_holds_the_file_name_and_the_done_file_stops_it_with_status_0) {
    fs::rename(disk_ / "disk.img", disk_ / "fedora-42.qcow2");
    fs::create_directories(disk_ / "ignored-subdirectory");
    auto& server = start();
    EXPECT_EQ(test::slurp(ready_), "fedora-42.qcow2");
    EXPECT_FALSE(fs::exists(ready_.string() + ".tmp"));
    EXPECT_EQ(fetch("/fedora-42.qcow2", "-I").code, "200");
    EXPECT_EQ(server.wait(std::chrono::milliseconds(300)), -1) << "exited before the done file: " << server.log();
    std::ofstream(done_).put('\n');
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

TEST_F(containerimage_server, sigterm_stops_it_with_status_0) {
    auto& server = start();
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(std::chrono::seconds(2)), 0) << server.log();
}

TEST_F(containerimage_server, a_bootc_image_is_refused_before_anything_is_served) {
    for (const char* marker : {"sysroot", "ostree"}) {
        fs::create_directory(dir_ / marker);
        test::image_server_process server(args(), env(), dir_ / "server.log");
        EXPECT_EQ(server.wait(), 1) << marker;
        EXPECT_TRUE(contains(server.log(), "bootc image: " + (dir_ / marker).string() + " exists")) << server.log();
        EXPECT_FALSE(fs::exists(ready_));
        fs::remove(dir_ / marker);
    }
}

TEST_F(containerimage_server, the_image_directory_must_hold_exactly_one_file) {
    struct layout {
        std::string setup;  // shell, run in the image directory
        std::string reason;
    };
    const std::string d = "cd '" + disk_.string() + "' && rm -rf ./* && ";
    for (const auto& l : std::vector<layout>{{"true", "holds no file, expected exactly one"},
                                             {"mkdir sub && touch sub/disk.img", "holds no file, expected exactly one"},
                                             {"touch a.img b.img", "holds more than one file"},
                                             {"mkdir sub && ln -s sub link", "link is not a regular file"}}) {
        test::must_run(d + l.setup);
        test::image_server_process server(args(), env(), dir_ / "server.log");
        EXPECT_EQ(server.wait(), 1) << l.setup;
        EXPECT_TRUE(contains(server.log(), l.reason)) << l.setup << ": " << server.log();
        EXPECT_FALSE(fs::exists(ready_)) << l.setup;
    }
    fs::remove_all(disk_);
    test::image_server_process server(args(), env(), dir_ / "server.log");
    EXPECT_EQ(server.wait(), 1);
    EXPECT_TRUE(contains(server.log(), "cannot read the image directory " + disk_.string())) << server.log();
}

TEST_F(containerimage_server, go_flag_spellings_are_accepted_and_unknown_flags_refused) {
    test::image_server_process server({"--p=0", "--image-dir", disk_.string(), "-ready-file=" + ready_.string(), "--done-file=" + done_.string()},
                                      env(), dir_ / "server.log");
    port_ = server.port();
    ASSERT_GT(port_, 0) << server.log();
    EXPECT_EQ(test::slurp(ready_), "disk.img");
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(), 0);

    test::image_server_process bad({"-p", "0", "-image-name", "x"}, env(), dir_ / "bad.log");
    EXPECT_EQ(bad.wait(), 2);
    EXPECT_TRUE(contains(bad.log(), "flag provided but not defined: -image-name")) << bad.log();
    test::image_server_process port({"-p", "70000"}, env(), dir_ / "port.log");
    EXPECT_EQ(port.wait(), 2);
}

TEST_F(containerimage_server, the_binary_is_statically_linked) {
    CDI_REQUIRE_TOOL("file");
    auto out = test::must_run("file -L " + test::image_server_binary);
    EXPECT_TRUE(contains(out, "statically linked")) << out;
    auto ldd = test::run_command("ldd " + test::image_server_binary);
    EXPECT_NE(ldd.status, 0) << ldd.output;
    EXPECT_TRUE(contains(ldd.output, "not a dynamic executable")) << ldd.output;
}

}  // namespace
}  // namespace cdi
