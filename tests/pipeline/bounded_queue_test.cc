// Tests of the queue between pipeline threads
// (worker/pipeline/bounded_queue.h): PopUpTo takes a backlog in order and
// no more than asked, wakes a blocked producer, waits for an item, and
// drains before it reports the end.
#include "worker/pipeline/bounded_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace wallet {
namespace {

TEST(BoundedQueue, PopUpToTakesAtMostMaxOldestFirst) {
  BoundedQueue<int> queue(10);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.Push(i));
  std::vector<int> out = {-1};
  ASSERT_TRUE(queue.PopUpTo(3, out));
  EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2}));  // Appended, in order.
  out.clear();
  ASSERT_TRUE(queue.PopUpTo(8, out));
  EXPECT_EQ(out, (std::vector<int>{3, 4}));
  EXPECT_EQ(queue.size(), 0u);
}

TEST(BoundedQueue, PopUpToFreesRoomForABlockedProducer) {
  BoundedQueue<int> queue(2);
  ASSERT_TRUE(queue.Push(0));
  ASSERT_TRUE(queue.Push(1));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    ASSERT_TRUE(queue.Push(2));  // Blocks: the queue is full.
    pushed = true;
  });
  std::vector<int> out;
  ASSERT_TRUE(queue.PopUpTo(2, out));
  producer.join();  // Returns only if the pop woke the producer.
  EXPECT_TRUE(pushed.load());
  out.clear();
  ASSERT_TRUE(queue.PopUpTo(2, out));
  EXPECT_EQ(out, (std::vector<int>{2}));
}

TEST(BoundedQueue, PopUpToWaitsForAnItem) {
  BoundedQueue<int> queue(4);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queue.Push(7);
  });
  std::vector<int> out;
  ASSERT_TRUE(queue.PopUpTo(4, out));
  EXPECT_EQ(out, (std::vector<int>{7}));
  producer.join();
}

TEST(BoundedQueue, CloseDrainsThenEnds) {
  BoundedQueue<int> queue(4);
  ASSERT_TRUE(queue.Push(1));
  ASSERT_TRUE(queue.Push(2));
  queue.Close();
  EXPECT_FALSE(queue.Push(3));
  std::vector<int> out;
  ASSERT_TRUE(queue.PopUpTo(1, out));
  ASSERT_TRUE(queue.PopUpTo(1, out));
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
  EXPECT_FALSE(queue.PopUpTo(1, out));
  EXPECT_EQ(out.size(), 2u);
}

TEST(BoundedQueue, CloseWakesAWaitingConsumer) {
  BoundedQueue<int> queue(4);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queue.Close();
  });
  std::vector<int> out;
  EXPECT_FALSE(queue.PopUpTo(4, out));
  closer.join();
}

}  // namespace
}  // namespace wallet
