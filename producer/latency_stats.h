// Latency percentiles of a load run, from per-command samples.
#pragma once

#include <cstdint>
#include <vector>

namespace wallet::producer {

struct LatencySummary {
  std::uint64_t count = 0;
  // Nearest-rank percentiles, in microseconds.
  std::uint32_t p50_us = 0;
  std::uint32_t p90_us = 0;
  std::uint32_t p99_us = 0;
  std::uint32_t p999_us = 0;
  std::uint32_t max_us = 0;
};

// Sorts `samples_us` in place.
LatencySummary SummarizeLatencies(std::vector<std::uint32_t>& samples_us);

}  // namespace wallet::producer
