// The upload server's answers where CDI's contract is exact about them (issue 12, "Contract and
// robustness gaps"): the status of an unsafe archive, of malformed chunked framing, and of requests
// racing an upload. Real cdi-uploadserver, curl for real uploads, tls_client for raw requests.
#include "support/hostile_tars.hpp"
#include "support/raw_requests.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace cdi {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::exchange;
using test::q;

class upload_contract_test : public test::raw_request_fixture {};

TEST_F(upload_contract_test, an_unsafe_archive_entry_is_a_400_naming_its_class_and_the_server_stays_ready) {
    auto& s = start();
    test::python_tar(dir_ / "escape.tar", "reg('ok.txt', b'fine')\nreg('../escape.txt', b'out')");
    test::python_tar(dir_ / "link.tar", "sym('l', '/etc')\nreg('l/passwd', b'owned')");
    for (const char* tar : {"escape.tar", "link.tar"}) {
        EXPECT_EQ(curl("--data-binary @" + q(dir_ / tar), "/v1beta1/upload-archive"), "400") << tar << s.log();
        EXPECT_EQ(body().rfind("Saving stream failed: E_ARCHIVE_UNSAFE_ENTRY: ", 0), 0u) << body();
    }
    EXPECT_FALSE(fs::exists(dir_ / "escape.txt"));
    test::python_tar(dir_ / "good.tar", "reg('hello.txt', b'hello')");
    EXPECT_EQ(curl("--data-binary @" + q(dir_ / "good.tar"), "/v1beta1/upload-archive"), "200") << body() << s.log();
    EXPECT_EQ(s.wait(), 0) << s.log();
    EXPECT_EQ(test::read_file(data_ / "hello.txt"), (std::vector<char>{'h', 'e', 'l', 'l', 'o'}));
}

}  // namespace
}  // namespace cdi
