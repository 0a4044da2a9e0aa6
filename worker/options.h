// Command-line flags of wallet-worker: parsing into WorkerOptions, and the
// --help text that lists every flag with its default.
#pragma once

#include <string>

#include "common/log.h"
#include "worker/worker.h"

namespace wallet {

enum class ParseOutcome { kRun, kHelp, kError };

ParseOutcome ParseWorkerFlags(int argc, char** argv, WorkerOptions& options,
                              LogLevel& log_level, std::string& error);
std::string WorkerHelp();

}  // namespace wallet
