// Redis Cluster's key slots, against the Redis Cluster specification's CRC16 check value
// and the slots the CLUSTER KEYSLOT documentation shows.
#include "observernet/cache/redis_slots.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <vector>

namespace observernet::cache {
namespace {

TEST(RedisSlotsTest, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the specification's check value
  EXPECT_EQ(crc16(""), 0);
}

TEST(RedisSlotsTest, SlotsAreThoseRedisGives) {
  EXPECT_EQ(hash_slot("somekey"), 11058);
  EXPECT_EQ(hash_slot("foo{hash_tag}"), 2515);
  EXPECT_EQ(hash_slot("bar{hash_tag}"), 2515);
  EXPECT_EQ(hash_slot("foo"), 12182);
}

TEST(RedisSlotsTest, HashTagsFollowTheSpecificationsRules) {
  // The examples of the specification's "Hash tags" section.
  EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
  EXPECT_EQ(hash_slot("{user1000}.followers"), hash_slot("user1000"));
  EXPECT_EQ(hash_slot("foo{}{bar}"), crc16("foo{}{bar}") % kClusterSlots);  // empty tag
  EXPECT_EQ(hash_slot("foo{{bar}}zap"), hash_slot("{bar"));                 // first { to first }
  EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));                  // the first tag only
  EXPECT_EQ(hash_slot("foo{bar"), crc16("foo{bar") % kClusterSlots);        // no closing brace
  // The limiter's keys: every window of every limit of one client in one slot.
  EXPECT_EQ(hash_slot("observernet:rl:{c1}:submit:1733400000"),
            hash_slot("observernet:rl:{c1}:global:1733399940"));
}

TEST(RedisSlotsTest, CommandsAreRoutedByTheirKey) {
  using Args = std::vector<std::string_view>;
  EXPECT_EQ(command_key(Args{"GET", "k"}), "k");
  EXPECT_EQ(command_key(Args{"SET", "k", "v", "NX"}), "k");
  EXPECT_EQ(command_key(Args{"EVALSHA", "sha", "2", "a", "b", "1"}), "a");
  EXPECT_EQ(command_key(Args{"eval", "script", "1", "a"}), "a");
  EXPECT_EQ(command_key(Args{"EVAL", "script", "0"}), std::nullopt);
  EXPECT_EQ(command_key(Args{"EVAL", "script", "x", "a"}), std::nullopt);
  EXPECT_EQ(command_key(Args{"PING"}), std::nullopt);
}

TEST(RedisSlotsTest, RedirectionsAreParsed) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = parse_redirect("ASK 16383 redis-2.example:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->slot, 16383);
  EXPECT_EQ(ask->host, "redis-2.example");
  EXPECT_EQ(parse_redirect("MOVED 1 [::1]:7001")->host, "::1");
  EXPECT_EQ(parse_redirect("MOVED 1 ::1:7001")->host, "::1");
  EXPECT_EQ(parse_redirect("MOVED 1 :7001")->host, "");  // the same host
  for (std::string_view bad : {"ERR wrong", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "ASK 1 h:0",
                               "ASK 1 h", "MOVED 1 h:99999"}) {
    EXPECT_FALSE(parse_redirect(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace observernet::cache
