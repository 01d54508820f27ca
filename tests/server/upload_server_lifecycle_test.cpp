// The upload_server object in-process: how it ends the pod's work (exit status, termination
// message) and what a signal does to the upload in flight. The integration tests drive the real
// binary through HTTPS; these pin what they cannot reach: the termination message of a clone with
// preallocation, an unwritable termination log, a signal while idle, and the hooks a session
// registers with set_active. (tests/integration/upload_server_test.cpp owns the binary's name.)
#include "server/upload_server.hpp"

#include "support/pki.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cdi {
namespace {

class upload_server_lifecycle_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = std::make_unique<test::temp_dir>();
        pki_ = std::make_unique<test::pki>(dir_->path() / "pki");
    }
    static void TearDownTestSuite() {
        pki_.reset();
        dir_.reset();
    }

    upload_config config() const {
        upload_config cfg;
        cfg.tls_cert_file = pki_->crt("server");
        cfg.tls_key_file = pki_->key("server");
        cfg.client_cert_file = pki_->crt("ca");
        cfg.client_name = test::pki::client_cn;
        cfg.listen_address = "127.0.0.1";
        cfg.listen_port = 0;
        cfg.termination_log = log_;
        return cfg;
    }

    std::string termination_log() const {
        std::ifstream in(log_);
        std::ostringstream s;
        s << in.rdbuf();
        return s.str();
    }

    test::temp_dir tmp_;
    std::filesystem::path log_ = tmp_ / "termination-log";
    static inline std::unique_ptr<test::temp_dir> dir_;
    static inline std::unique_ptr<test::pki> pki_;
};

TEST_F(upload_server_lifecycle_test, listens_on_an_ephemeral_port_and_a_taken_port_throws_e_io) {
    upload_server first(config());
    ASSERT_NE(first.port(), 0);
    auto cfg = config();
    cfg.listen_port = first.port();
    try {
        upload_server second(cfg);
        FAIL() << "a second server bound port " << first.port();
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("E_IO: cannot listen on ", 0), 0u) << e.what();
    }
}

TEST_F(upload_server_lifecycle_test, a_completed_clone_reports_clone_complete_with_its_preallocation_and_exits_0) {
    upload_server server(config());
    ASSERT_EQ(server.state().begin(), upload_state::admit::ok);
    server.state().succeed(/*preallocation_applied=*/true, /*clone_target=*/true);
    server.complete();
    EXPECT_TRUE(server.stopping());
    EXPECT_EQ(server.run(), 0);
    EXPECT_EQ(termination_log(), R"({"preallocationApplied":true,"message":"Clone Complete"})");
}

TEST_F(upload_server_lifecycle_test, a_completed_upload_without_preallocation_reports_upload_complete) {
    upload_server server(config());
    ASSERT_EQ(server.state().begin(), upload_state::admit::ok);
    server.state().succeed(false);
    server.complete();
    EXPECT_EQ(server.run(), 0);
    EXPECT_EQ(termination_log(), R"({"preallocationApplied":false,"message":"Upload Complete"})");
}

TEST_F(upload_server_lifecycle_test, an_unwritable_termination_log_turns_a_completed_upload_into_exit_1) {
    auto cfg = config();
    cfg.termination_log = tmp_ / "missing-dir" / "termination-log";
    upload_server server(cfg);
    ASSERT_EQ(server.state().begin(), upload_state::admit::ok);
    server.state().succeed(false);
    server.complete();
    EXPECT_EQ(server.run(), 1);
}

TEST_F(upload_server_lifecycle_test, a_background_failure_writes_its_text_as_the_termination_message_and_exits_1) {
    upload_server server(config());
    server.fail("Unable to process data: E_INVALID_IMAGE: bad\nsecond line");
    EXPECT_EQ(server.run(), 1);
    EXPECT_EQ(termination_log(), "Unable to process data: E_INVALID_IMAGE: bad second line");
}

TEST_F(upload_server_lifecycle_test, a_signal_while_idle_exits_1_without_a_termination_message) {
    upload_server server(config());
    std::raise(SIGTERM);  // queued by the server's signal_set until run() waits for it
    EXPECT_EQ(server.run(), 1);
    EXPECT_TRUE(server.cancel().canceled());
    EXPECT_FALSE(std::filesystem::exists(log_));
}

TEST_F(upload_server_lifecycle_test, a_signal_during_an_upload_fails_its_body_with_canceled_and_aborts_its_wait) {
    // Declared before the server, so destroyed after it: the server still holds the channel, whose
    // timer must go before its io_context (ASan: use after free otherwise).
    boost::asio::io_context side;  // the channel's io side is not exercised here
    upload_server server(config());
    auto channel = std::make_shared<body_channel>(side.get_executor(), 1);
    int aborts = 0;
    server.set_active(channel, [&] {
        ++aborts;
        // A session would end the run once the job unwound; here nothing runs, so end it now.
        server.shutdown(1);
    });
    std::raise(SIGTERM);
    EXPECT_EQ(server.run(), 1);
    EXPECT_EQ(aborts, 1);
    EXPECT_TRUE(server.cancel().canceled());
    auto popped = channel->pop();  // the job's next read of the body
    ASSERT_FALSE(popped);
    EXPECT_TRUE(popped.error().is(errc::canceled)) << popped.error().message();
    EXPECT_FALSE(std::filesystem::exists(log_));
}

TEST_F(upload_server_lifecycle_test, after_clear_active_a_signal_ends_the_server_at_once) {
    boost::asio::io_context side;  // outlives the server, which may still hold the channel
    upload_server server(config());
    auto channel = std::make_shared<body_channel>(side.get_executor(), 1);
    bool aborted = false;
    server.set_active(channel, [&] {
        aborted = true;
        server.shutdown(1);  // only so that a failing test ends
    });
    server.clear_active();
    std::raise(SIGTERM);
    EXPECT_EQ(server.run(), 1);
    EXPECT_FALSE(aborted) << "a cleared upload was still aborted (and would keep the server serving)";
    channel->finish();
    auto popped = channel->pop();
    ASSERT_TRUE(popped) << "the cleared upload's channel was not failed";
    EXPECT_FALSE(popped->has_value());
}

}  // namespace
}  // namespace cdi
