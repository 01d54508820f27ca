#include "server/status_map.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

TEST(status_map, capacity_errors_are_400_with_cdi_words) {
    for (errc e : {errc::too_large, errc::no_space}) {
        auto he = map_error(make_error(e, "image is 8388608 bytes, target holds 4194304"));
        EXPECT_EQ(he.status, 400u);
        EXPECT_TRUE(he.capacity);
        EXPECT_EQ(he.body, "Saving stream failed: effective image size is larger than the reported available storage: " +
                               std::string(class_token(e)) + ": image is 8388608 bytes, target holds 4194304");
    }
}

TEST(status_map, invalid_images_are_400_naming_their_class) {
    for (errc e : {errc::unsafe_image, errc::corrupt_image, errc::bad_image, errc::ambiguous_format,
                   errc::format_mismatch, errc::empty, errc::too_small, errc::decompress, errc::bad_request}) {
        auto he = map_error(make_error(e, "why"));
        EXPECT_EQ(he.status, 400u) << class_token(e);
        EXPECT_FALSE(he.capacity);
        EXPECT_EQ(he.body, "Saving stream failed: " + std::string(class_token(e)) + ": why");
    }
}

TEST(status_map, an_unsafe_archive_entry_is_400_naming_its_class) {
    auto he = map_error(make_error(errc::archive_unsafe_entry, "archive entry \"../x\" leaves the volume"));
    EXPECT_EQ(he.status, 400u);
    EXPECT_FALSE(he.capacity);
    EXPECT_EQ(he.body, "Saving stream failed: E_ARCHIVE_UNSAFE_ENTRY: archive entry \"../x\" leaves the volume");
}

TEST(status_map, everything_else_is_500) {
    for (errc e : {errc::io, errc::truncated, errc::convert_failed, errc::canceled, errc::scratch_required}) {
        auto he = map_error(make_error(e, "why"));
        EXPECT_EQ(he.status, 500u) << class_token(e);
        EXPECT_EQ(he.body, "Saving stream failed: " + std::string(class_token(e)) + ": why");
    }
    auto sys = map_error(error{std::make_error_code(std::errc::io_error), "write"});
    EXPECT_EQ(sys.status, 500u);
}

TEST(status_map, a_stream_cut_short_inside_a_complete_body_is_the_images_fault_and_a_400) {
    const auto e = attribute_to_body(make_error(errc::truncated, "gzip stream ends before its trailer"), true);
    EXPECT_TRUE(e.is(errc::bad_image)) << e.message();
    EXPECT_EQ(e.context, "the image ends early inside the complete upload body: gzip stream ends before its trailer");
    EXPECT_EQ(map_error(e).status, 400u);
}

TEST(status_map, a_body_cut_short_and_every_other_class_keep_their_class) {
    EXPECT_TRUE(attribute_to_body(make_error(errc::truncated, "body ended"), false).is(errc::truncated));
    for (errc c : {errc::io, errc::canceled, errc::corrupt_image, errc::too_large}) {
        EXPECT_TRUE(attribute_to_body(make_error(c, "why"), true).is(c)) << class_token(c);
    }
}

TEST(status_map, request_faults_are_400_414_431_with_the_bad_request_class) {
    EXPECT_EQ(map_request_fault(request_fault::malformed, "why").status, 400u);
    EXPECT_EQ(map_request_fault(request_fault::line_too_long, "why").status, 414u);
    EXPECT_EQ(map_request_fault(request_fault::header_too_large, "why").status, 431u);
    EXPECT_EQ(map_request_fault(request_fault::header_too_large, "why").body, "E_BAD_REQUEST: why");
}

}  // namespace
}  // namespace cdi
