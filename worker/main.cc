// wallet-worker: the wallet service process. Parses flags, starts the
// Worker, and turns SIGINT/SIGTERM into a drained, clean stop.
//
// Signals are blocked in every thread and taken synchronously here with
// sigtimedwait, which also paces the periodic duties (key expiry, totals).
#include <signal.h>

#include <cstdio>
#include <ctime>

#include "common/log.h"
#include "worker/options.h"
#include "worker/worker.h"

namespace {

// Exit codes: 0 clean stop; 1 storage failure (or the connection guard
// failed); 2 bad flags or start failure.
constexpr int kExitStorageFailed = 1;
constexpr int kExitBadStart = 2;

}  // namespace

int main(int argc, char** argv) {
  wallet::WorkerOptions options;
  wallet::LogLevel log_level = wallet::LogLevel::kInfo;
  std::string error;
  switch (wallet::ParseWorkerFlags(argc, argv, options, log_level, error)) {
    case wallet::ParseOutcome::kHelp:
      std::fputs(wallet::WorkerHelp().c_str(), stdout);
      return 0;
    case wallet::ParseOutcome::kError:
      std::fprintf(stderr, "wallet-worker: %s\n", error.c_str());
      return kExitBadStart;
    case wallet::ParseOutcome::kRun:
      break;
  }
  wallet::SetLogLevel(log_level);

  // Block before any thread starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<wallet::Worker> worker =
      wallet::Worker::Start(options, error);
  if (worker == nullptr) {
    wallet::Log(wallet::LogLevel::kError, "worker",
                "event=start_failed error=\"%s\"", error.c_str());
    return kExitBadStart;
  }

  const timespec tick = {1, 0};
  int signal = -1;
  while (signal < 0 && !worker->storage_failed() && !worker->guard_failed()) {
    signal = sigtimedwait(&stop_signals, nullptr, &tick);
    worker->Tick();
  }
  wallet::Log(wallet::LogLevel::kInfo, "worker", "event=stopping cause=%s",
              signal == SIGINT           ? "SIGINT"
              : signal == SIGTERM        ? "SIGTERM"
              : worker->storage_failed() ? "storage_failure"
                                         : "guard_failure");
  const bool durable = worker->Stop();
  return durable && !worker->guard_failed() ? 0 : kExitStorageFailed;
}
