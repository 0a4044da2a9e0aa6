#include "producer/stop_signal.h"

#include <pthread.h>

#include <atomic>

namespace wallet::producer {
namespace {

// Lock-free, so it is safe to store from a signal handler.
std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnStopSignal(int /*signal*/) {
  g_stop_requested.store(true, std::memory_order_relaxed);
}

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void InstallStopSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  // No SA_RESTART: a blocking receive in the main thread returns early.
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool StopRequested() {
  return g_stop_requested.load(std::memory_order_relaxed);
}

ScopedStopSignalBlock::ScopedStopSignalBlock() {
  const sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, &previous_);
}

ScopedStopSignalBlock::~ScopedStopSignalBlock() {
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace wallet::producer
