// SIGINT and SIGTERM as a polite request to stop.
//
// The handler only sets a flag; long-running subcommands poll
// StopRequested() between bounded waits and then take their normal
// shutdown path (stop threads, join them, print what they have).
// Helper threads block both signals so that the main thread, which polls
// the flag, is the one that receives them.
#pragma once

#include <signal.h>

namespace wallet::producer {

// Installs the handlers; call once from main before any thread starts.
void InstallStopSignalHandlers();
bool StopRequested();

// Blocks SIGINT and SIGTERM in the calling thread while alive; threads
// started meanwhile inherit the mask.
class ScopedStopSignalBlock {
 public:
  ScopedStopSignalBlock();
  ~ScopedStopSignalBlock();
  ScopedStopSignalBlock(const ScopedStopSignalBlock&) = delete;
  ScopedStopSignalBlock& operator=(const ScopedStopSignalBlock&) = delete;

 private:
  sigset_t previous_;
};

}  // namespace wallet::producer
