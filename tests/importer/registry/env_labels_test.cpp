#include "importer/registry/env_labels.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using labels = std::map<std::string, std::string>;

TEST(env_labels, turns_kubevirt_io_variables_into_labels_as_cdi_does) {
    EXPECT_EQ(env_labels({"INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small",
                          "PREFERENCE_KUBEVIRT_IO_DEFAULT_PREFERENCE=fedora", "KUBEVIRT_IO_TEST=x",
                          "TEST_TEST_KUBEVIRT_IO_TEST_TEST=y", "PATH=/usr/bin", "KUBEVIRT_IO_NOVALUE"}),
              (labels{{"instancetype.kubevirt.io/default-instancetype", "u1.small"},
                      {"preference.kubevirt.io/default-preference", "fedora"},
                      {"kubevirt.io/test", "x"},
                      {"test.test.kubevirt.io/test-test", "y"}}));
}

TEST(env_labels, keeps_everything_after_the_first_equals_sign_in_the_value) {
    EXPECT_EQ(env_labels({"KUBEVIRT_IO_A=b=c"}), (labels{{"kubevirt.io/a", "b=c"}}));
}

TEST(env_labels_from_info, reads_the_image_servers_env_and_accepts_null_or_missing) {
    auto l = env_labels_from_info(R"({"env":["INSTANCETYPE_KUBEVIRT_IO_DEFAULT_INSTANCETYPE=u1.small","HOME=/"]})");
    ASSERT_TRUE(l);
    EXPECT_EQ(*l, (labels{{"instancetype.kubevirt.io/default-instancetype", "u1.small"}}));
    EXPECT_EQ(env_labels_from_info(R"({"env":null})").value(), labels{});
    EXPECT_EQ(env_labels_from_info(R"({})").value(), labels{});
}

TEST(env_labels_from_info, rejects_a_body_that_is_not_the_expected_json) {
    for (const char* body : {"", "[]", "not json", R"({"env":"x"})", R"({"env":[1]})"}) {
        auto l = env_labels_from_info(body);
        ASSERT_FALSE(l) << body;
        EXPECT_TRUE(l.error().is(errc::bad_request));
    }
}

}  // namespace
}  // namespace cdi
