// cdi-importer with IMPORTER_SOURCE=http against a real nginx (issue 4): the environment the
// controller sets in, exit status, termination message, target and metrics endpoint out.
#include "support/fault_http_server.hpp"
#include "support/nginx.hpp"
#include "support/importer_process.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::must_run;
using test::nginx_options;
using test::nginx_server;
using test::q;

class importer_http_test : public ::testing::Test {
protected:
    void SetUp() override {
        if (!test::have_tool("qemu-img") || !test::have_tool("nginx")) GTEST_SKIP() << "needs qemu-img and nginx";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
        fs::create_directories(www_);
        // 8 MiB: 3 MiB of data, a hole, 1 MiB of data at the end.
        must_run("head -c 3M /dev/urandom > " + q(www_ / "disk.img") + " && truncate -s 7M " + q(www_ / "disk.img") +
                 " && head -c 1M /dev/urandom >> " + q(www_ / "disk.img"));
        raw_ = test::read_file(www_ / "disk.img");
    }

    using outcome = test::importer_outcome;

    std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("OWNER_UID", "0f3c-uid");
        return env;
    }
    outcome run(std::map<std::string, std::string> env) { return test::run_importer(dir_.path(), with_defaults(std::move(env))); }

    std::unique_ptr<nginx_server> serve(nginx_options o = {}) {
        o.root = www_;
        return nginx_server::start(std::move(o));
    }

    test::temp_dir dir_;
    fs::path data_ = dir_ / "data";
    fs::path scratch_ = dir_ / "scratch";
    fs::path www_ = dir_ / "www";
    std::vector<char> raw_;
};

TEST_F(importer_http_test, a_raw_image_streams_straight_to_the_target_without_scratch) {
    auto web = serve();
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 6u << 20) << "the hole was written";
    EXPECT_EQ(o.log.find("TransferScratch"), std::string::npos) << o.log;
    auto seen = web->requests_for("/disk.img");
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().user_agent, "cdi-golang-importer");
}

TEST_F(importer_http_test, compressed_raw_streams_straight_to_the_target) {
    must_run("xz -T2 -c " + q(www_ / "disk.img") + " > " + q(www_ / "disk.img.xz"));
    must_run("gzip -c " + q(www_ / "disk.img") + " > " + q(www_ / "disk.img.gz"));
    auto web = serve();
    fs::remove(scratch_);
    for (const char* name : {"/disk.img.xz", "/disk.img.gz"}) {
        fs::remove(data_ / "disk.img");
        auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url(name)}});
        ASSERT_EQ(o.status, 0) << name << o.log;
        EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_) << name;
    }
}

TEST_F(importer_http_test, a_qcow2_image_is_decoded_as_it_arrives_with_nothing_in_scratch) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(www_ / "disk.img") + " " + q(www_ / "disk.qcow2"));
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.qcow2")}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_EQ(o.log.find("TransferScratch"), std::string::npos) << o.log;
    EXPECT_NE(o.log.find("Processing phase Convert"), std::string::npos) << o.log;
    EXPECT_TRUE(fs::is_empty(scratch_));
}

// A deviation from CDI (docs/compatibility.md): a qcow2 needs no scratch volume, so the controller's
// second pod with scratch is never asked for.
TEST_F(importer_http_test, a_qcow2_image_without_scratch_imports_all_the_same) {
    must_run("qemu-img convert -f raw -O qcow2 -c " + q(www_ / "disk.img") + " " + q(www_ / "disk.qcow2"));
    auto web = serve();
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.qcow2")}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
}

// An origin that drops the connection halfway through a qcow2: the HTTP origin resumes with Range
// and If-Range under the decoder, which never sees the gap (issue 14).
TEST_F(importer_http_test, a_qcow2_cut_off_mid_stream_resumes_with_range_and_decodes_whole) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(www_ / "disk.img") + " " + q(www_ / "disk.qcow2"));
    const auto image = test::read_file(www_ / "disk.qcow2");
    const std::string body(image.begin(), image.end());
    const std::size_t cut = body.size() / 2 + 17;
    std::atomic<int> gets{0};
    test::fault_http_server origin([&](const test::fault_request& req, test::fault_reply& out) {
        const std::string validators = "ETag: \"v1\"\r\nAccept-Ranges: bytes\r\n";
        if (req.method == "HEAD") {
            out.send("HTTP/1.1 200 OK\r\n" + validators + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
            return;
        }
        const std::string range = req.header("Range");
        if (++gets == 1 || range.empty()) {
            out.send("HTTP/1.1 200 OK\r\n" + validators + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
            out.send(gets == 1 ? body.substr(0, cut) : body);  // the first answer is cut off
            return;
        }
        const std::size_t from = std::stoul(range.substr(6));
        out.send("HTTP/1.1 206 Partial Content\r\n" + validators + "Content-Range: bytes " + std::to_string(from) + "-" +
                 std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\nContent-Length: " +
                 std::to_string(body.size() - from) + "\r\n\r\n" + body.substr(from));
    });
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", origin.url("/disk.qcow2")}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_EQ(o.log.find("TransferScratch"), std::string::npos) << o.log;
    EXPECT_TRUE(fs::is_empty(scratch_));
    bool resumed = false;
    for (const auto& r : origin.requests()) resumed = resumed || r.header("Range") == "bytes=" + std::to_string(cut) + "-";
    EXPECT_TRUE(resumed) << "the second GET must ask for the rest with Range";
}

TEST_F(importer_http_test, the_qemu_img_switch_stages_a_qcow2_in_scratch_as_cdi_does) {
    must_run("qemu-img convert -f raw -O qcow2 " + q(www_ / "disk.img") + " " + q(www_ / "disk.qcow2"));
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.qcow2")}, {"CDI_CONVERTER", "qemu-img"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_NE(o.log.find("TransferScratch"), std::string::npos) << o.log;
    EXPECT_TRUE(fs::is_empty(scratch_));
    fs::remove(scratch_);
    fs::remove(data_ / "disk.img");
    o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.qcow2")}, {"CDI_CONVERTER", "qemu-img"}});
    EXPECT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":true,"preallocationApplied":false,"message":"Import Complete"})");
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_http_test, a_missing_file_fails_with_cdis_status_text) {
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/absent.img")}});
    EXPECT_EQ(o.status, 1);
    EXPECT_EQ(o.message.rfind("Unable to connect to http data source: ", 0), 0u) << o.message;
    EXPECT_NE(o.message.find("expected status code 200, got 404. Status: 404 Not Found"), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_http_test, an_html_page_served_instead_of_an_image_is_refused_not_imported) {
    std::string page = "<!DOCTYPE html>\n<html><body>Please log in</body></html>\n" + std::string(4096, ' ');
    test::write_file(www_ / "login.html", page.data(), page.size());
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/login.html")}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_FORMAT_MISMATCH"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("HTML page"), std::string::npos) << o.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));
}

TEST_F(importer_http_test, https_is_verified_against_the_cert_dir_and_fails_without_it) {
    test::pki p(dir_ / "pki");
    auto web = serve({.tls_cert = p.crt("server"), .tls_key = p.key("server")});
    fs::create_directories(dir_ / "certs");
    fs::copy_file(p.crt("ca"), dir_ / "certs" / "ca.pem");

    auto untrusted = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}});
    EXPECT_EQ(untrusted.status, 1);
    EXPECT_NE(untrusted.message.find("E_TLS_VERIFY"), std::string::npos) << untrusted.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));

    auto trusted = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                        {"IMPORTER_CERT_DIR", (dir_ / "certs").string()}});
    ASSERT_EQ(trusted.status, 0) << trusted.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);

    fs::remove(data_ / "disk.img");
    auto insecure = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(insecure.status, 0) << insecure.log;
}

TEST_F(importer_http_test, basic_auth_is_sent_and_a_wrong_password_is_named) {
    auto web = serve({.basic_auth = std::pair<std::string, std::string>{"alice", "s3cret"}});
    auto wrong = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                      {"IMPORTER_ACCESS_KEY_ID", "alice"}, {"IMPORTER_SECRET_KEY", "nope"}});
    EXPECT_EQ(wrong.status, 1);
    EXPECT_NE(wrong.message.find("got 401"), std::string::npos) << wrong.message;
    EXPECT_EQ(wrong.message.find("nope"), std::string::npos);
    EXPECT_EQ(wrong.log.find("nope"), std::string::npos) << "the password was logged";

    auto right = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                      {"IMPORTER_ACCESS_KEY_ID", "alice"}, {"IMPORTER_SECRET_KEY", "s3cret"}});
    ASSERT_EQ(right.status, 0) << right.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
}

TEST_F(importer_http_test, credentials_and_secret_headers_never_follow_a_redirect_to_another_origin) {
    auto other = serve();
    auto web = serve({.redirects = {{"/same.img", "/disk.img", 302}, {"/away.img", other->url("/disk.img"), 302}}});
    fs::create_directories(dir_ / "extraheaders" / "0");
    test::write_file(dir_ / "extraheaders" / "0" / "secretHeader", "X-Secret: from-secret\n", 22);
    auto env = [&](const std::string& path) {
        return std::map<std::string, std::string>{{"IMPORTER_SOURCE", "http"},
                                                  {"IMPORTER_ENDPOINT", web->url(path)},
                                                  {"IMPORTER_ACCESS_KEY_ID", "alice"},
                                                  {"IMPORTER_SECRET_KEY", "s3cret"},
                                                  {"CDI_EXTRA_HEADERS_DIR", (dir_ / "extraheaders").string()},
                                                  {"IMPORTER_EXTRA_HEADER_0", "X-Token: abc"}};
    };
    auto same = run(env("/same.img"));
    ASSERT_EQ(same.status, 0) << same.log;
    auto followed = web->requests_for("/disk.img");
    ASSERT_FALSE(followed.empty());
    EXPECT_EQ(followed.back().authorization.rfind("Basic ", 0), 0u);
    EXPECT_EQ(followed.back().header, "from-secret");

    fs::remove(data_ / "disk.img");
    auto away = run(env("/away.img"));
    ASSERT_EQ(away.status, 0) << away.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    auto elsewhere = other->requests_for("/disk.img");
    ASSERT_FALSE(elsewhere.empty());
    for (const auto& e : elsewhere) {
        EXPECT_EQ(e.authorization, "") << "credentials reached another origin";
        EXPECT_EQ(e.header, "") << "a secret header reached another origin";
    }
}

TEST_F(importer_http_test, a_right_checksum_passes_and_a_wrong_one_is_final_with_the_data_removed) {
    auto web = serve();
    auto sha = must_run("sha256sum " + q(www_ / "disk.img"));
    auto right = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                      {"IMPORTER_CHECKSUM", "sha256:" + sha.substr(0, 64)}});
    ASSERT_EQ(right.status, 0) << right.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);

    fs::remove(data_ / "disk.img");
    const std::string wrong_sum(64, 'a');
    auto wrong = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                      {"IMPORTER_CHECKSUM", "sha256:" + wrong_sum}});
    // Exit 0 so the controller stops retrying; it reads "checksum mismatch" from the message (contract 1.5).
    EXPECT_EQ(wrong.status, 0) << wrong.log;
    EXPECT_EQ(wrong.message.rfind(R"({"message":"Unable to process data: )", 0), 0u) << wrong.message;
    EXPECT_NE(wrong.message.find("checksum mismatch: expected sha256:" + wrong_sum + ", calculated sha256:" + sha.substr(0, 64)),
              std::string::npos) << wrong.message;
    EXPECT_FALSE(fs::exists(data_ / "disk.img"));

    auto invalid = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                        {"IMPORTER_CHECKSUM", "crc32:abcd"}});
    EXPECT_EQ(invalid.status, 1);
    EXPECT_EQ(invalid.message.rfind("Unable to connect to http data source: ", 0), 0u) << invalid.message;
    EXPECT_NE(invalid.message.find("invalid checksum"), std::string::npos) << invalid.message;
}

TEST_F(importer_http_test, an_archive_is_unpacked_into_the_volume_and_its_checksum_covers_the_whole_stream) {
    fs::create_directories(dir_ / "tree" / "sub");
    test::write_file(dir_ / "tree" / "a.txt", "alpha", 5);
    test::write_file(dir_ / "tree" / "sub" / "b.txt", "beta", 4);
    must_run("tar -C " + q(dir_ / "tree") + " -czf " + q(www_ / "files.tar.gz") + " a.txt sub");
    auto web = serve();
    auto sha = must_run("sha256sum " + q(www_ / "files.tar.gz")).substr(0, 64);
    auto ok = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/files.tar.gz")},
                   {"IMPORTER_CONTENTTYPE", "archive"}, {"IMPORTER_CHECKSUM", "sha256:" + sha}});
    ASSERT_EQ(ok.status, 0) << ok.log;
    EXPECT_EQ(test::read_file(data_ / "sub" / "b.txt"), std::vector<char>({'b', 'e', 't', 'a'}));

    for (const auto& e : fs::directory_iterator(data_)) fs::remove_all(e.path());
    auto bad = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/files.tar.gz")},
                    {"IMPORTER_CONTENTTYPE", "archive"}, {"IMPORTER_CHECKSUM", "md5:" + std::string(32, '0')}});
    EXPECT_EQ(bad.status, 0) << bad.log;
    EXPECT_NE(bad.message.find("checksum mismatch"), std::string::npos) << bad.message;
    EXPECT_TRUE(fs::is_empty(data_)) << "unpacked files were left after a checksum mismatch";
}

// Issue 12.9: a checksum mismatch in archive mode removes only what this import unpacked; what the
// volume held before stays (before the fix every entry of the volume went), plain and compressed.
TEST_F(importer_http_test, an_archive_checksum_mismatch_removes_only_what_this_import_unpacked) {
    fs::create_directories(dir_ / "tree" / "sub");
    test::write_file(dir_ / "tree" / "a.txt", "alpha", 5);
    test::write_file(dir_ / "tree" / "sub" / "b.txt", "beta", 4);
    must_run("tar -C " + q(dir_ / "tree") + " -cf " + q(www_ / "files.tar") + " a.txt sub");
    must_run("tar -C " + q(dir_ / "tree") + " -czf " + q(www_ / "files.tar.gz") + " a.txt sub");
    auto web = serve();
    for (const char* name : {"/files.tar", "/files.tar.gz"}) {
        for (const auto& e : fs::directory_iterator(data_)) fs::remove_all(e.path());
        test::write_file(data_ / "keep.txt", "mine", 4);
        fs::create_directories(data_ / "keep-dir");
        test::write_file(data_ / "keep-dir" / "inner.txt", "mine", 4);
        auto bad = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url(name)},
                        {"IMPORTER_CONTENTTYPE", "archive"}, {"IMPORTER_CHECKSUM", "md5:" + std::string(32, '0')}});
        EXPECT_EQ(bad.status, 0) << name << bad.log;
        EXPECT_NE(bad.message.find("checksum mismatch"), std::string::npos) << name << bad.message;
        EXPECT_EQ(test::read_file(data_ / "keep.txt"), std::vector<char>({'m', 'i', 'n', 'e'})) << name;
        EXPECT_EQ(test::read_file(data_ / "keep-dir" / "inner.txt"), std::vector<char>({'m', 'i', 'n', 'e'})) << name;
        EXPECT_FALSE(fs::exists(data_ / "a.txt")) << name;
        EXPECT_FALSE(fs::exists(data_ / "sub")) << name;
    }
}

TEST_F(importer_http_test, a_hostile_archive_is_refused_and_nothing_is_left) {
    fs::create_directories(dir_ / "evil");
    test::write_file(dir_ / "evil" / "x", "x", 1);
    must_run("tar -C " + q(dir_ / "evil") + " -cf " + q(www_ / "evil.tar") + " --transform 's,^x,../../escaped,' x");
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/evil.tar")}, {"IMPORTER_CONTENTTYPE", "archive"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_ARCHIVE_UNSAFE_ENTRY"), std::string::npos) << o.message;
    EXPECT_TRUE(fs::is_empty(data_));
    EXPECT_FALSE(fs::exists(dir_ / "escaped"));
}

TEST_F(importer_http_test, a_node_pull_waits_for_the_ready_file_and_labels_the_volume_from_the_image_env) {
    // The sidecar (cdi-containerimage-server) names the image in the ready file and serves /info.
    fs::copy_file(www_ / "disk.img", www_ / "fedora.img");
    std::string info = R"({"env":["PATH=/usr/bin","INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small"]})";
    test::write_file(www_ / "info", info.data(), info.size());
    test::write_file(dir_ / "ready", "fedora.img", 10);
    auto web = serve();
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")},
                  {"IMPORTER_PULL_METHOD", "node"}, {"IMPORTER_READY_FILE", (dir_ / "ready").string()},
                  {"IMPORTER_DONE_FILE", (dir_ / "done").string()}, {"IMPORTER_CHECKSUM", "md5:" + std::string(32, '0')}});
    ASSERT_EQ(o.status, 0) << o.log;
    // No checksum on a node pull (CDI), labels from the image's environment, the done file for the sidecar.
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,)"
                         R"("labels":{"instancetype.kubevirt.io/default-instancetype":"u1.small"},"message":"Import Complete"})");
    EXPECT_TRUE(fs::exists(dir_ / "done"));
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
    EXPECT_FALSE(web->requests_for("/fedora.img").empty());
}

TEST_F(importer_http_test, a_block_target_on_a_loop_device_gets_zeros_in_the_holes) {
    CDI_REQUIRE_LOOP();
    must_run("gzip -c " + q(www_ / "disk.img") + " > " + q(www_ / "disk.img.gz"));
    test::loop_device dev(dir_ / "backing", 8u << 20);
    must_run("tr '\\000' '\\252' < /dev/zero | head -c 8M > " + q(dev.path()) + "; sync");
    auto web = serve();
    auto o = run({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img.gz")},
                  {"CDI_BLOCK_DEVICE", dev.path().string()}, {"FILESYSTEM_OVERHEAD", "0"}});
    ASSERT_EQ(o.status, 0) << o.log;
    must_run("cmp " + q(dev.path()) + " " + q(www_ / "disk.img"));
}

TEST_F(importer_http_test, the_metrics_endpoint_answers_the_controllers_scrape_during_the_import) {
    auto web = serve({.limit_rate = "2m"});  // 8 MiB at 2 MiB/s: about 4 s to scrape in
    fs::remove(scratch_);
    const auto samples = test::import_while_scraping_progress(
        dir_.path(), with_defaults({{"IMPORTER_SOURCE", "http"}, {"IMPORTER_ENDPOINT", web->url("/disk.img")}}));
    ASSERT_FALSE(samples.empty());
    for (std::size_t i = 1; i < samples.size(); ++i) EXPECT_GE(samples[i], samples[i - 1]) << "progress went backwards";
    EXPECT_GE(samples.size(), 3u);
    EXPECT_GT(samples.back(), 0.0);
    EXPECT_EQ(test::read_file(data_ / "disk.img"), raw_);
}

}  // namespace
}  // namespace cdi
