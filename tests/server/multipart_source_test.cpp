#include "server/multipart_source.hpp"

#include "support/test_stages.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

std::vector<std::byte> bytes(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

std::string as_string(const std::vector<std::byte>& v) {
    return {reinterpret_cast<const char*>(v.data()), v.size()};
}

const std::string body =
    "preamble\r\n"
    "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nskip me\r\n--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"disk.img\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    "DATA\r\n--XyQ not yet\r\n-- end\r\n--XyZ\r\nContent-Disposition: form-data; name=\"later\"\r\n\r\nnever\r\n--XyZ--\r\n";

TEST(multipart_source, delivers_only_the_file_part_in_any_read_size) {
    for (std::size_t chunk : {1, 3, 7, 64, 4096}) {
        multipart_source src(std::make_unique<test::scripted_source>(bytes(body), chunk), "XyZ");
        auto out = test::drain(src);
        ASSERT_TRUE(out) << chunk << ": " << out.error().message();
        EXPECT_EQ(as_string(*out), "DATA\r\n--XyQ not yet\r\n-- end") << chunk;
    }
}

TEST(multipart_source, a_body_without_the_file_part_is_a_bad_request) {
    const std::string b = "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--XyZ--\r\n";
    multipart_source src(std::make_unique<test::scripted_source>(bytes(b), 5), "XyZ");
    auto out = test::drain(src);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::bad_request)) << out.error().message();
}

TEST(multipart_source, a_file_part_without_its_closing_boundary_is_truncated) {
    const std::string b = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nDATA DATA";
    multipart_source src(std::make_unique<test::scripted_source>(bytes(b), 4), "XyZ");
    auto out = test::drain(src);
    ASSERT_FALSE(out);
    EXPECT_TRUE(out.error().is(errc::truncated)) << out.error().message();
}

TEST(multipart_source, an_empty_file_part_is_an_empty_stream) {
    const std::string b = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--XyZ--\r\n";
    multipart_source src(std::make_unique<test::scripted_source>(bytes(b), 64), "XyZ");
    auto out = test::drain(src);
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->empty());
}

TEST(multipart_source, boundary_comes_from_a_form_data_content_type_only) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=------abc"), "------abc");
    EXPECT_EQ(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"q r\""), "q r");
    EXPECT_EQ(multipart_boundary("application/octet-stream; boundary=x"), "");
    EXPECT_EQ(multipart_boundary("multipart/form-data"), "");
    EXPECT_EQ(multipart_boundary(""), "");
}

}  // namespace
}  // namespace cdi
