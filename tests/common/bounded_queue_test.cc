#include "common/bounded_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace gridwatch {
namespace {

using std::chrono::milliseconds;

TEST(BoundedQueueTest, TryPushFailsWhenFull) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.TryPush(1));
  EXPECT_TRUE(q.TryPush(2));
  EXPECT_FALSE(q.TryPush(3));
  EXPECT_EQ(q.Size(), 2u);
  EXPECT_EQ(q.HighWater(), 2u);
  EXPECT_EQ(q.PopFor(milliseconds(0)), 1);
  EXPECT_TRUE(q.TryPush(4));
  EXPECT_EQ(q.PopFor(milliseconds(0)), 2);
  EXPECT_EQ(q.PopFor(milliseconds(0)), 4);
  EXPECT_EQ(q.PopFor(milliseconds(0)), std::nullopt);
}

TEST(BoundedQueueTest, CloseDrainsThenEnds) {
  BoundedQueue<int> q(10);
  ASSERT_TRUE(q.TryPush(1));
  ASSERT_TRUE(q.TryPush(2));
  ASSERT_TRUE(q.TryPush(3));
  q.Close();
  EXPECT_TRUE(q.Closed());
  EXPECT_FALSE(q.TryPush(4));
  EXPECT_FALSE(q.Push(5));
  EXPECT_EQ(q.PopFor(milliseconds(0)), 1);
  std::vector<int> out;
  EXPECT_EQ(q.PopBatch(&out, 10, milliseconds(0)), 2u);
  EXPECT_EQ(out, (std::vector<int>{2, 3}));
  // Closed and drained: returns at once, even with a long timeout.
  EXPECT_EQ(q.PopFor(milliseconds(60000)), std::nullopt);
  EXPECT_EQ(q.PopBatch(&out, 10, milliseconds(60000)), 0u);
}

TEST(BoundedQueueTest, PopBatchRespectsMax) {
  BoundedQueue<int> q(10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush(i));
  std::vector<int> out;
  EXPECT_EQ(q.PopBatch(&out, 3, milliseconds(0)), 3u);
  EXPECT_EQ(out, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(q.Size(), 2u);
}

TEST(BoundedQueueTest, CloseWakesBlockedPusherAndPopper) {
  BoundedQueue<int> full(1);
  ASSERT_TRUE(full.TryPush(1));
  bool push_result = true;
  std::thread pusher([&] { push_result = full.Push(2); });  // blocks: queue is full
  BoundedQueue<int> empty(1);
  std::optional<int> pop_result = 7;
  std::thread popper([&] { pop_result = empty.PopFor(milliseconds(60000)); });
  full.Close();
  empty.Close();
  pusher.join();
  popper.join();
  EXPECT_FALSE(push_result);
  EXPECT_EQ(pop_result, std::nullopt);
  EXPECT_EQ(full.PopFor(milliseconds(0)), 1);  // what was in it is still drained
}

TEST(BoundedQueueTest, PushBlocksUntilRoom) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.TryPush(1));
  std::thread pusher([&] { EXPECT_TRUE(q.Push(2)); });
  EXPECT_EQ(q.PopFor(milliseconds(60000)), 1);
  EXPECT_EQ(q.PopFor(milliseconds(60000)), 2);  // arrives once the pusher got room
  pusher.join();
}

TEST(BoundedQueueTest, PushForTimesOutKeepingTheValueThenSucceedsOnceThereIsRoom) {
  BoundedQueue<std::string> q(1);
  ASSERT_TRUE(q.TryPush("first"));
  std::string v = "second";
  EXPECT_FALSE(q.PushFor(v, milliseconds(20)));
  EXPECT_EQ(v, "second");  // not moved from: the caller can try again
  std::thread pusher([&] { EXPECT_TRUE(q.PushFor(v, milliseconds(60000))); });
  EXPECT_EQ(q.PopFor(milliseconds(60000)), "first");
  EXPECT_EQ(q.PopFor(milliseconds(60000)), "second");
  pusher.join();
  q.Close();
  std::string w = "third";
  EXPECT_FALSE(q.PushFor(w, milliseconds(60000)));  // closed: at once, not after the timeout
}

}  // namespace
}  // namespace gridwatch
