#include "producer/latency_stats.h"

#include <algorithm>

namespace wallet::producer {
namespace {

// The smallest sample at or above `per_mille` thousandths of the count.
std::uint32_t Rank(const std::vector<std::uint32_t>& sorted,
                   std::uint64_t per_mille) {
  const std::uint64_t count = sorted.size();
  std::uint64_t rank = (count * per_mille + 999) / 1000;
  rank = std::clamp<std::uint64_t>(rank, 1, count);
  return sorted[rank - 1];
}

}  // namespace

LatencySummary SummarizeLatencies(std::vector<std::uint32_t>& samples_us) {
  LatencySummary summary;
  if (samples_us.empty()) return summary;
  std::sort(samples_us.begin(), samples_us.end());
  summary.count = samples_us.size();
  summary.p50_us = Rank(samples_us, 500);
  summary.p90_us = Rank(samples_us, 900);
  summary.p99_us = Rank(samples_us, 990);
  summary.p999_us = Rank(samples_us, 999);
  summary.max_us = samples_us.back();
  return summary;
}

}  // namespace wallet::producer
