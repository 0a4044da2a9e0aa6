// A mutex whose locking clang can check: members marked GUARDED_BY(mu) may
// only be touched with `mu` held, and -Wthread-safety (on under clang)
// turns a missed lock into a compile error. Under g++ the annotations
// compile away and this is a plain std::mutex.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define WALLET_TSA(x) __attribute__((x))
#else
#define WALLET_TSA(x)
#endif

#define CAPABILITY(x) WALLET_TSA(capability(x))
#define SCOPED_CAPABILITY WALLET_TSA(scoped_lockable)
#define GUARDED_BY(x) WALLET_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) WALLET_TSA(pt_guarded_by(x))
#define REQUIRES(...) WALLET_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) WALLET_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) WALLET_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) WALLET_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS WALLET_TSA(no_thread_safety_analysis)

namespace wallet {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// Condition variable over a Mutex. Wait must be called with `mu` held.
class CondVar {
 public:
  void Wait(Mutex& mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false on timeout.
  template <typename Duration>
  bool WaitFor(Mutex& mu, Duration timeout) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool woken =
        cv_.wait_for(lock, timeout) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace wallet
