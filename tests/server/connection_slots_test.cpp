#include "server/connection_slots.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace cdi {
namespace {

using id = connection_slots::id;

std::vector<id> open_n(connection_slots& s, int n) {
    std::vector<id> ids;
    for (int i = 0; i < n; ++i) {
        id c = 0;
        auto d = s.open(c);
        EXPECT_TRUE(d.admitted);
        ids.push_back(c);
    }
    return ids;
}

TEST(connection_slots, over_the_connection_cap_the_oldest_unauthenticated_connection_is_evicted) {
    connection_slots s({.max_connections = 3, .max_tls = 3});
    auto ids = open_n(s, 3);
    id c = 0;
    auto d = s.open(c);
    EXPECT_TRUE(d.admitted);
    EXPECT_EQ(d.evict, ids[0]);
    EXPECT_FALSE(s.holds(ids[0]));
    EXPECT_TRUE(s.holds(c));
    EXPECT_EQ(s.connections(), 3u);
}

TEST(connection_slots, authenticated_connections_are_never_evicted_and_a_full_house_of_them_refuses) {
    connection_slots s({.max_connections = 2, .max_tls = 2});
    auto ids = open_n(s, 2);
    for (id c : ids) {
        ASSERT_TRUE(s.start_tls(c).admitted);
        s.authenticate(c);
    }
    id c = 0;
    auto d = s.open(c);
    EXPECT_FALSE(d.admitted);
    EXPECT_FALSE(d.evict);
    EXPECT_EQ(s.connections(), 2u);
}

TEST(connection_slots, the_oldest_of_waiting_and_tls_connections_goes_first_skipping_authenticated_ones) {
    connection_slots s({.max_connections = 3, .max_tls = 3});
    auto ids = open_n(s, 3);
    ASSERT_TRUE(s.start_tls(ids[0]).admitted);
    s.authenticate(ids[0]);              // the upload: stays
    ASSERT_TRUE(s.start_tls(ids[2]).admitted);
    id c = 0;
    EXPECT_EQ(s.open(c).evict, ids[1]);  // waiting, older than ids[2]
    id c2 = 0;
    EXPECT_EQ(s.open(c2).evict, ids[2]);  // tls, unauthenticated
    EXPECT_TRUE(s.holds(ids[0]));
}

TEST(connection_slots, tls_state_is_capped_separately_and_evicts_the_oldest_unauthenticated_tls_connection) {
    connection_slots s({.max_connections = 10, .max_tls = 2});
    auto ids = open_n(s, 4);
    EXPECT_TRUE(s.start_tls(ids[0]).admitted);
    EXPECT_TRUE(s.start_tls(ids[1]).admitted);
    EXPECT_EQ(s.tls(), 2u);
    auto d = s.start_tls(ids[2]);
    EXPECT_TRUE(d.admitted);
    EXPECT_EQ(d.evict, ids[0]);
    EXPECT_EQ(s.tls(), 2u);
    s.authenticate(ids[1]);
    s.authenticate(ids[2]);
    auto refused = s.start_tls(ids[3]);  // every TLS holder is authenticated
    EXPECT_FALSE(refused.admitted);
    EXPECT_FALSE(refused.evict);
    EXPECT_TRUE(s.holds(ids[3]));        // still waiting; the caller closes it
    s.close(ids[3]);
    EXPECT_EQ(s.connections(), 2u);
}

TEST(connection_slots, close_releases_each_stage_once_and_ignores_unknown_ids) {
    connection_slots s({.max_connections = 4, .max_tls = 4});
    auto ids = open_n(s, 3);
    s.start_tls(ids[1]);
    s.start_tls(ids[2]);
    s.authenticate(ids[2]);
    EXPECT_TRUE(s.start_tls(ids[2]).admitted);  // already past waiting: no change
    EXPECT_EQ(s.tls(), 2u);
    for (id c : ids) s.close(c);
    s.close(ids[0]);
    s.close(12345);
    EXPECT_EQ(s.connections(), 0u);
    EXPECT_EQ(s.tls(), 0u);
    EXPECT_FALSE(s.start_tls(ids[0]).admitted);  // gone: no TLS for it
}

}  // namespace
}  // namespace cdi
