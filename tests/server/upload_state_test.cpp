#include "server/upload_state.hpp"

#include <gtest/gtest.h>

namespace cdi {
namespace {

using admit = upload_state::admit;
using state = upload_state::state;

TEST(upload_state, admits_one_upload_and_answers_busy_to_the_next) {
    upload_state s;
    EXPECT_TRUE(s.idle());
    EXPECT_EQ(s.begin(), admit::ok);
    EXPECT_EQ(s.current(), state::uploading);
    EXPECT_EQ(s.begin(), admit::busy);
}

TEST(upload_state, a_failed_upload_returns_to_idle_so_the_client_can_retry) {
    upload_state s;
    ASSERT_EQ(s.begin(), admit::ok);
    s.fail();
    EXPECT_TRUE(s.idle());
    EXPECT_EQ(s.begin(), admit::ok);
}

TEST(upload_state, after_success_every_upload_gets_done_and_preallocation_is_kept) {
    upload_state s;
    ASSERT_EQ(s.begin(), admit::ok);
    s.succeed(true);
    EXPECT_EQ(s.current(), state::done);
    EXPECT_TRUE(s.preallocation_applied());
    EXPECT_EQ(s.begin(), admit::done);
    s.fail();  // a stray failure after done changes nothing
    EXPECT_EQ(s.begin(), admit::done);
}

TEST(upload_state, processing_is_busy_until_the_background_part_succeeds) {
    upload_state s;
    ASSERT_EQ(s.begin(), admit::ok);
    s.pause();
    EXPECT_EQ(s.current(), state::processing);
    EXPECT_EQ(s.begin(), admit::busy);
    s.fail();  // fail() only undoes "uploading": after the 200 the upload cannot go back to idle
    EXPECT_EQ(s.current(), state::processing);
    s.succeed(false);
    EXPECT_EQ(s.begin(), admit::done);
}

TEST(upload_state, succeed_without_an_upload_changes_nothing) {
    upload_state s;
    s.succeed(true);
    EXPECT_TRUE(s.idle());
    EXPECT_FALSE(s.preallocation_applied());
}

}  // namespace
}  // namespace cdi
