// cdi-importer with IMPORTER_SOURCE=registry (issue 5) against a real registry (Debian's
// docker-registry) holding images built by oci_image.py and pushed with skopeo: the environment the
// controller sets in; exit status, termination message, target and scratch out. Every imported
// target must equal `qemu-img convert` of the disk inside the image.
#include "support/docker_registry.hpp"
#include "support/importer_process.hpp"
#include "support/nginx.hpp"
#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using test::docker_registry;
using test::must_run;
using test::q;

// One layer holding the given entries, as oci_image.py's spec wants it.
std::string layer(const std::string& compression, const std::string& entries) {
    return R"({"compression":")" + compression + R"(","entries":[)" + entries + "]}";
}
std::string dir_entry(const std::string& path) { return R"({"path":")" + path + R"(","type":"dir"})"; }
std::string file_entry(const std::string& path, const fs::path& source) {
    return R"({"path":")" + path + R"(","type":"file","source":")" + source.string() + R"("})";
}
std::string text_entry(const std::string& path, const std::string& content) {
    return R"({"path":")" + path + R"(","type":"file","content":")" + content + R"("})";
}
std::string image(const std::string& arch, const std::string& layers, const std::string& extra = "") {
    return R"({"architecture":")" + arch + R"(","os":"linux",)" + extra + R"("layers":[)" + layers + "]}";
}

class importer_registry_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (!tools_present()) return;
        dir_ = new test::temp_dir();
        pki_ = new test::pki(dir_->path() / "pki");
        store_ = dir_->path() / "store";
        const auto& d = dir_->path();
        // 6 MiB: 2 MiB of data, a hole, 1 MiB of data; the arm64 disk differs.
        must_run("head -c 2M /dev/urandom > " + q(d / "disk.raw") + " && truncate -s 5M " + q(d / "disk.raw") +
                 " && head -c 1M /dev/urandom >> " + q(d / "disk.raw"));
        must_run("head -c 1M /dev/urandom > " + q(d / "arm.raw") + " && truncate -s 6M " + q(d / "arm.raw"));
        must_run("qemu-img convert -f raw -O qcow2 " + q(d / "disk.raw") + " " + q(d / "disk.qcow2"));
        must_run("qemu-img convert -f raw -O qcow2 " + q(d / "arm.raw") + " " + q(d / "arm.qcow2"));
        must_run("head -c 3M /dev/urandom > " + q(d / "other.raw"));

        const std::string disk_dir = dir_entry("disk/");
        build("qcow2", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/disk.qcow2", d / "disk.qcow2")),
                             R"("env":["INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small","KUBEVIRT_IO_TEST=x","PATH=/bin"],)"));
        build("raw", image("amd64", layer("zstd", disk_dir + "," + file_entry("disk/disk.img", d / "disk.raw"))));
        build("multiarch", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/disk.qcow2", d / "disk.qcow2"))) + "," +
                               image("arm64", layer("gzip", disk_dir + "," + file_entry("disk/disk.qcow2", d / "arm.qcow2"))),
              true);
        // The upper layer deletes the lower disk and adds another: the runtime's view has only b.
        build("whiteout", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/a.img", d / "other.raw")) + "," +
                                              layer("gzip", text_entry("disk/.wh.a.img", "") + "," +
                                                                file_entry("disk/b.qcow2", d / "disk.qcow2"))));
        build("nodisk", image("amd64", layer("gzip", dir_entry("etc/") + "," + text_entry("etc/hostname", "x"))));
        build("twofiles", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/disk.qcow2", d / "disk.qcow2") + "," +
                                                           text_entry("disk/README", "hello"))));
        build("bootc", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/disk.qcow2", d / "disk.qcow2")),
                             R"("labels":{"containers.bootc":"1"},)"));
        build("corrupt", image("amd64", layer("gzip", disk_dir + "," + file_entry("disk/disk.img", d / "other.raw"))));

        auto plain = docker_registry::start({.storage = store_});
        for (const char* name : {"qcow2", "raw", "whiteout", "nodisk", "twofiles", "bootc", "corrupt"})
            plain->push(d / name, std::string("cdi/") + name + ":v1");
        plain->push(d / "multiarch", "cdi/multiarch:v1", true);
        // The corrupt image's layer: one byte of the gzip header's MTIME changed in the registry's
        // storage. The stream still decompresses to the same tar; only the digest can tell.
        const auto summary = read_text(d / "corrupt.json");
        const auto at = summary.find(R"("digest": "sha256:)");
        const auto digest = summary.substr(at + 11, 71);
        {
            std::fstream blob(plain->blob_path(digest), std::ios::in | std::ios::out | std::ios::binary);
            blob.seekg(4);
            const char was = static_cast<char>(blob.get());
            blob.seekp(4);
            blob.put(static_cast<char>(was ^ 0x5a));
        }
        corrupt_digest_ = digest;
        corrupt_sum_ = must_run("sha256sum " + q(plain->blob_path(digest)));
    }
    static void TearDownTestSuite() {
        delete pki_;
        delete dir_;
        pki_ = nullptr;
        dir_ = nullptr;
    }
    static bool tools_present() {
        return test::have_tool("docker-registry") && test::have_tool("skopeo") && test::have_tool("qemu-img");
    }
    static std::string read_text(const fs::path& p) {
        auto v = test::read_file(p);
        return std::string(v.begin(), v.end());
    }
    static void build(const std::string& name, const std::string& images, bool index = false) {
        const auto spec = R"({"tag":"latest","index":)" + std::string(index ? "true" : "false") + R"(,"images":[)" + images + "]}";
        test::write_file(dir_->path() / (name + ".spec"), spec.data(), spec.size());
        const auto summary = test::build_oci_layout(dir_->path() / (name + ".spec"), dir_->path() / name,
                                                    name == "qcow2" ? dir_->path() / "qcow2.tar" : fs::path());
        test::write_file(dir_->path() / (name + ".json"), summary.data(), summary.size());
    }

    void SetUp() override {
        if (!tools_present()) GTEST_SKIP() << "needs docker-registry, skopeo and qemu-img";
        fs::create_directories(data_);
        fs::create_directories(scratch_);
    }

    using outcome = test::importer_outcome;

    static std::map<std::string, std::string> with_defaults(std::map<std::string, std::string> env) {
        env.emplace("IMPORTER_SOURCE", "registry");
        env.emplace("IMPORTER_CONTENTTYPE", "kubevirt");
        env.emplace("IMPORTER_IMAGE_SIZE", "8Mi");
        env.emplace("OWNER_UID", "0f3c-uid");
        return env;
    }
    outcome run(std::map<std::string, std::string> env) { return test::run_importer(work_.path(), with_defaults(std::move(env))); }

    // The raw disk qemu-img makes of an image file, at the target's size.
    std::vector<char> expected(const fs::path& image_file) {
        const auto out = work_ / "expected.raw";
        must_run("qemu-img convert -f qcow2 -O raw " + q(image_file) + " " + q(out) + " && truncate -s 8M " + q(out));
        return test::read_file(out);
    }
    std::vector<char> expected_raw(const fs::path& raw) {
        const auto out = work_ / "expected.raw";
        must_run("cp " + q(raw) + " " + q(out) + " && truncate -s 8M " + q(out));
        return test::read_file(out);
    }
    void expect_nothing_left() {
        EXPECT_FALSE(fs::exists(data_ / "disk.img"));
        EXPECT_TRUE(!fs::exists(scratch_) || fs::is_empty(scratch_));
    }
    // The registry API's GET paths of one image as files under <work>/www: /v2/<repo>/manifests/v1
    // and /v2/<repo>/blobs/sha256:<hex>, for nginx to serve.
    fs::path static_registry(const std::string& image, const std::string& repo) {
        const auto www = work_ / "www";
        const auto dir = www / "v2" / repo;
        fs::create_directories(dir / "manifests");
        fs::create_directories(dir / "blobs");
        for (const auto& blob : fs::directory_iterator(dir_->path() / image / "blobs/sha256"))
            fs::copy_file(blob.path(), dir / "blobs" / ("sha256:" + blob.path().filename().string()));
        const auto summary = read_text(dir_->path() / (image + ".json"));
        fs::copy_file(dir_->path() / image / "blobs/sha256" / summary.substr(summary.find(R"("top": "sha256:)") + 15, 64),
                      dir / "manifests/v1");
        return www;
    }
    std::unique_ptr<docker_registry> plain() { return docker_registry::start({.storage = store_}); }

    static inline test::temp_dir* dir_ = nullptr;
    static inline test::pki* pki_ = nullptr;
    static inline fs::path store_;
    static inline std::string corrupt_digest_, corrupt_sum_;
    test::temp_dir work_;
    fs::path data_ = work_ / "data";
    fs::path scratch_ = work_ / "scratch";
};

TEST_F(importer_registry_test, a_qcow2_containerdisk_is_converted_and_its_env_labels_reported) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2:v1")}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(o.message, R"({"scratchSpaceRequired":false,"preallocationApplied":false,"labels":{)"
                         R"("instancetype.kubevirt.io/default-instancetype":"u1.small","kubevirt.io/test":"x"},)"
                         R"("message":"Import Complete"})");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
    EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(importer_registry_test, a_raw_containerdisk_streams_to_the_target_without_scratch) {
    auto reg = plain();
    fs::remove(scratch_);
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/raw:v1")}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected_raw(dir_->path() / "disk.raw"));
    EXPECT_LT(test::allocated_bytes(data_ / "disk.img"), 5u << 20) << "the hole was written";
    EXPECT_EQ(o.log.find("TransferScratch"), std::string::npos) << o.log;
}

TEST_F(importer_registry_test, a_multi_arch_index_yields_the_requested_architecture) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/multiarch:v1")}, {"INSECURE_TLS", "true"},
                  {"IMPORTER_REGISTRY_IMAGE_ARCHITECTURE", "arm64"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "arm.qcow2"));
    fs::remove(data_ / "disk.img");
    o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/multiarch:v1")}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(o.status, 0) << o.log;  // this machine's architecture (amd64 here)
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
}

TEST_F(importer_registry_test, an_architecture_missing_from_the_index_fails_with_cdis_text) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/multiarch:v1")}, {"INSECURE_TLS", "true"},
                  {"IMPORTER_REGISTRY_IMAGE_ARCHITECTURE", "absent"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_EQ(o.message.rfind("Unable to process data: ", 0), 0u) << o.message;
    EXPECT_NE(o.message.find("Unable to transfer source data to scratch space: Failed to read registry image: Error retrieving image: "
                             "choosing image instance: no image found in image index for architecture \"absent\", variant \"\", OS \"linux\""),
              std::string::npos)
        << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, a_single_image_of_another_architecture_is_refused) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2:v1")}, {"INSECURE_TLS", "true"},
                  {"IMPORTER_REGISTRY_IMAGE_ARCHITECTURE", "arm64"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("Error validating architecture: manifest image architecture: \"amd64\" doesn't match requested "
                             "architecture: \"arm64\""),
              std::string::npos)
        << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, an_upper_layer_whiteout_replaces_the_disk_of_the_lower_layer) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/whiteout:v1")}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
}

TEST_F(importer_registry_test, an_image_without_a_disk_directory_fails_with_cdis_text) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/nodisk:v1")}, {"INSECURE_TLS", "true"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("Failed to find VM disk image file in the container image"), std::string::npos) << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, two_files_under_disk_are_refused_and_nothing_is_left) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/twofiles:v1")}, {"INSECURE_TLS", "true"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("image directory contains more than one file"), std::string::npos) << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, a_blob_that_does_not_match_its_digest_fails_and_nothing_is_left) {
    auto reg = plain();
    fs::remove(scratch_);
    ASSERT_NE(corrupt_sum_.substr(0, 64), corrupt_digest_.substr(7)) << "the blob was not corrupted";
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/corrupt:v1")}, {"INSECURE_TLS", "true"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_DIGEST_MISMATCH"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("does not match its digest"), std::string::npos) << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, a_bootc_image_is_refused) {
    auto reg = plain();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/bootc:v1")}, {"INSECURE_TLS", "true"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("bootc image detected"), std::string::npos) << o.message;
    expect_nothing_left();
}

TEST_F(importer_registry_test, an_oci_archive_imports_like_a_registry_image) {
    auto o = run({{"IMPORTER_ENDPOINT", "oci-archive:" + (dir_->path() / "qcow2.tar").string()}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
    EXPECT_NE(o.message.find(R"("kubevirt.io/test":"x")"), std::string::npos) << o.message;
}

TEST_F(importer_registry_test, a_reference_by_digest_is_verified_and_imported) {
    auto reg = plain();
    const auto summary = read_text(dir_->path() / "qcow2.json");
    const auto at = summary.find(R"("top": "sha256:)");
    ASSERT_NE(at, std::string::npos) << summary;
    const auto digest = summary.substr(at + 8, 71);
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2@" + digest)}, {"INSECURE_TLS", "true"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
}

TEST_F(importer_registry_test, https_with_token_auth_and_the_ca_in_the_cert_dir_pulls_without_leaking_the_password) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server"),
                                       .token_auth = true});
    const auto certs = work_ / "certs";
    fs::create_directories(certs);
    fs::copy_file(pki_->crt("ca"), certs / "ca.pem");
    const auto creds = *reg->credentials();
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2:v1")}, {"IMPORTER_CERT_DIR", certs.string()},
                  {"IMPORTER_ACCESS_KEY_ID", creds.first}, {"IMPORTER_SECRET_KEY", creds.second}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected(dir_->path() / "disk.qcow2"));
    EXPECT_EQ(o.log.find(creds.second), std::string::npos);
    ASSERT_FALSE(reg->token_log().empty());
    EXPECT_TRUE(reg->token_log()[0].authorization);
}

TEST_F(importer_registry_test, an_untrusted_registry_certificate_fails_as_a_pull_failure) {
    auto reg = docker_registry::start({.storage = store_, .tls_cert = pki_->crt("server"), .tls_key = pki_->key("server")});
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2:v1")}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_TLS_VERIFY"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find("failed to pull image"), std::string::npos) << o.message;  // the controller's ImagePullFailed
    expect_nothing_left();
}

TEST_F(importer_registry_test, wrong_registry_credentials_fail_as_an_auth_error) {
    auto reg = docker_registry::start({.storage = store_, .htpasswd = std::pair{std::string("alice"), std::string("right-pw")}});
    auto o = run({{"IMPORTER_ENDPOINT", reg->endpoint("cdi/qcow2:v1")}, {"INSECURE_TLS", "true"},
                  {"IMPORTER_ACCESS_KEY_ID", "alice"}, {"IMPORTER_SECRET_KEY", "wrong-pw"}});
    EXPECT_EQ(o.status, 1) << o.log;
    EXPECT_NE(o.message.find("E_AUTH"), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find("wrong-pw"), std::string::npos);
    EXPECT_EQ(o.log.find("wrong-pw"), std::string::npos);
    expect_nothing_left();
}

TEST_F(importer_registry_test, endpoints_without_a_known_transport_are_refused_with_cdis_text) {
    auto o = run({{"IMPORTER_ENDPOINT", "quay.io/kubevirt/cirros"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find(R"(Invalid image name "quay.io/kubevirt/cirros", expected colon-separated transport:reference)"),
              std::string::npos)
        << o.message;
    o = run({{"IMPORTER_ENDPOINT", "ftp://quay.io/kubevirt/cirros"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find("unknown transport"), std::string::npos) << o.message;
}

TEST_F(importer_registry_test, archive_content_is_refused_for_registry_imports) {
    auto o = run({{"IMPORTER_ENDPOINT", "oci-archive:" + (dir_->path() / "qcow2.tar").string()}, {"IMPORTER_CONTENTTYPE", "archive"}});
    EXPECT_EQ(o.status, 1);
    EXPECT_NE(o.message.find("content type kubevirt"), std::string::npos) << o.message;
}

// A registry that redirects blob downloads to storage on another origin (as registries backed by
// S3 do): the registry's credentials go to the registry only, never to the storage.
TEST_F(importer_registry_test, credentials_never_follow_a_blob_redirect_to_another_origin) {
    if (!test::have_tool("nginx")) GTEST_SKIP() << "needs nginx";
    const auto www = static_registry("raw", "cdi/redirected");
    const auto storage = work_ / "storage";
    fs::create_directories(storage);
    const auto summary = read_text(dir_->path() / "raw.json");
    const auto layer_at = summary.find(R"("digest": "sha256:)");
    const auto layer = summary.substr(layer_at + 11, 71);
    fs::copy_file(www / "v2/cdi/redirected/blobs" / layer, storage / "layer.blob");
    auto store = test::nginx_server::start({.root = storage});
    auto reg = test::nginx_server::start({.root = www, .basic_auth = std::pair{std::string("bob"), std::string("reg-pw")},
                                          .redirects = {{"/v2/cdi/redirected/blobs/" + layer, store->url("/layer.blob"), 307}}});
    const std::string endpoint = "docker://127.0.0.1:" + std::to_string(reg->port()) + "/cdi/redirected:v1";
    auto o = run({{"IMPORTER_ENDPOINT", endpoint}, {"INSECURE_TLS", "true"}, {"IMPORTER_ACCESS_KEY_ID", "bob"},
                  {"IMPORTER_SECRET_KEY", "reg-pw"}});
    ASSERT_EQ(o.status, 0) << o.log;
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected_raw(dir_->path() / "disk.raw"));
    auto manifests = reg->requests_for("/v2/cdi/redirected/manifests/v1");
    ASSERT_FALSE(manifests.empty());
    EXPECT_EQ(manifests.back().status, 200);
    EXPECT_EQ(manifests.back().authorization.rfind("Basic ", 0), 0u);  // after the 401 challenge
    auto blobs = store->requests_for("/layer.blob");
    ASSERT_FALSE(blobs.empty());
    for (const auto& r : blobs) EXPECT_EQ(r.authorization, "") << "credentials leaked to the storage origin";
}

// The registry API's GETs served as static files by a rate-limited nginx (the real registry cannot
// be slowed down), so the pull takes seconds and the progress endpoint can be scraped during it.
TEST_F(importer_registry_test, the_metrics_endpoint_reports_progress_during_the_pull) {
    if (!test::have_tool("nginx") || !test::have_tool("curl")) GTEST_SKIP() << "needs nginx and curl";
    const auto www = static_registry("raw", "cdi/slow");
    auto web = test::nginx_server::start({.root = www, .limit_rate = "1m"});
    fs::remove(scratch_);
    const std::string endpoint = "docker://127.0.0.1:" + std::to_string(web->port()) + "/cdi/slow:v1";
    const auto samples =
        test::import_while_scraping_progress(work_.path(), with_defaults({{"IMPORTER_ENDPOINT", endpoint}, {"INSECURE_TLS", "true"}}));
    ASSERT_FALSE(samples.empty()) << read_text(work_ / "importer.log");
    for (std::size_t i = 1; i < samples.size(); ++i) EXPECT_GE(samples[i], samples[i - 1]) << "progress went backwards";
    EXPECT_GE(samples.size(), 3u);
    EXPECT_GT(samples.back(), 0.0);
    EXPECT_EQ(read_text(work_ / "termination-log"), R"({"scratchSpaceRequired":false,"preallocationApplied":false,"message":"Import Complete"})")
        << read_text(work_ / "importer.log");
    EXPECT_EQ(test::read_file(data_ / "disk.img"), expected_raw(dir_->path() / "disk.raw"));
}

}  // namespace
}  // namespace cdi
