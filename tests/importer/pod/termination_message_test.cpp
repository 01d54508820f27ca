#include "importer/pod/termination_message.hpp"

#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace cdi {
namespace {

TEST(termination_message, serialises_in_gos_field_order_omitting_unset_fields) {
    termination_message m;
    m.scratch_space_required = false;
    m.preallocation_applied = true;
    m.message = "Import Complete";
    EXPECT_EQ(m.to_json().value(), R"({"scratchSpaceRequired":false,"preallocationApplied":true,"message":"Import Complete"})");

    termination_message d;
    d.deadline_passed = true;
    d.message = "Deadline Passed";
    EXPECT_EQ(d.to_json().value(), R"({"deadlinePassed":true,"message":"Deadline Passed"})");
}

TEST(termination_message, sorts_labels_and_escapes_like_go) {
    termination_message m;
    m.labels = {{"z", "1"}, {"a", "<b>&\"q\""}};
    m.message = "ok";
    EXPECT_EQ(m.to_json().value(), R"({"labels":{"a":"\u003cb\u003e\u0026\"q\"","z":"1"},"message":"ok"})");
}

TEST(termination_message, longer_than_4096_bytes_is_an_error_with_cdis_words) {
    termination_message m;
    m.message = std::string(5000, 'x');
    auto r = m.to_json();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "Termination message length 5014 exceeds maximum length of 4096 bytes");
}

// issue 12.8: labels that would overflow the message are left out, in key order, the rest kept.
TEST(termination_message, fitted_json_drops_only_the_labels_that_do_not_fit) {
    termination_message m;
    m.scratch_space_required = false;
    m.labels = {{"a.io/small", "1"}, {"b.io/huge", std::string(5000, 'x')}, {"c.io/big", std::string(3000, 'y')},
                {"d.io/bigger", std::string(3000, 'z')}, {"e.io/tail", "2"}};
    m.message = "Import Complete";
    ASSERT_FALSE(m.to_json());
    auto f = m.to_fitted_json();
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(f->dropped_labels, (std::vector<std::string>{"b.io/huge", "d.io/bigger"}));
    EXPECT_LE(f->json.size(), 4096u);
    termination_message expect = m;
    expect.labels.erase("b.io/huge");
    expect.labels.erase("d.io/bigger");
    EXPECT_EQ(f->json, expect.to_json().value());
}

TEST(termination_message, fitted_json_of_a_message_that_fits_is_to_json) {
    termination_message m;
    m.labels = {{"z", "1"}, {"a", "2"}};
    m.message = "Import Complete";
    auto f = m.to_fitted_json();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->json, m.to_json().value());
    EXPECT_TRUE(f->dropped_labels.empty());
    m.message = std::string(5000, 'x');
    EXPECT_FALSE(m.to_fitted_json());
}

TEST(write_termination_file, writes_one_line_with_mode_0600) {
    test::temp_dir dir;
    auto path = dir / "termination-log";
    ASSERT_TRUE(write_termination_file(path, "Unable to process data:\nline two"));
    auto content = test::read_file(path);
    EXPECT_EQ(std::string(content.begin(), content.end()), "Unable to process data: line two");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace cdi
