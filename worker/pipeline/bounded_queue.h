// BoundedQueue: a blocking multi-producer, multi-consumer queue with a
// fixed capacity, the only way work moves between pipeline threads.
//
// Push blocks while the queue is full: that is how a slow stage slows the
// one before it, down to the command socket, whose high-water mark then
// makes game servers' PUSH sockets block. A consumer takes what has
// queued up in one call (PopUpTo), so a backlog costs one wake-up. Close
// wakes everyone; PopUpTo keeps returning items until the queue is
// drained, then reports the end.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <deque>
#include <vector>

#include "common/mutex.h"

namespace wallet {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {}

  // Returns false (and drops `item`) if the queue was closed.
  bool Push(T item) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (items_.size() >= capacity_ && !closed_) not_full_.Wait(mu_);
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.Signal();
    return true;
  }

  // Blocks for at least one item, then moves up to `max` queued items,
  // oldest first, to the back of `out`: one wake-up and one lock for a
  // backlog. False once closed and drained.
  bool PopUpTo(std::size_t max, std::vector<T>& out) EXCLUDES(mu_) {
    assert(max > 0);
    MutexLock lock(mu_);
    while (items_.empty() && !closed_) not_empty_.Wait(mu_);
    if (items_.empty()) return false;
    const std::size_t count = std::min(max, items_.size());
    for (std::size_t i = 0; i < count; ++i) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    not_full_.SignalAll();
    return true;
  }

  void Close() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    closed_ = true;
    not_empty_.SignalAll();
    not_full_.SignalAll();
  }

  std::size_t size() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return items_.size();
  }

 private:
  const std::size_t capacity_;
  mutable Mutex mu_;
  CondVar not_empty_;
  CondVar not_full_;
  std::deque<T> items_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace wallet
