#!/usr/bin/env bash
# The test command of the README and of CI: installs what is missing, then
# checks formatting, builds with warnings as errors and runs every suite in
# three builds: the plain one, AddressSanitizer + UndefinedBehaviorSanitizer
# (gcc) and ThreadSanitizer (clang, which also checks the lock annotations),
# and runs the libFuzzer targets for a bounded time between the last two.
# Each build has its own directory under build/. Exits non-zero on the first
# failure.
#
#   scripts/test.sh             everything
#   scripts/test.sh --quick     the plain build only (for local iteration)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    *) echo "usage: scripts/test.sh [--quick]" >&2; exit 2 ;;
  esac
done

jobs="$(nproc)"
step() { printf '\n==> %s\n' "$*"; }

step "set-up"
bash scripts/setup.sh

step "clang-format: every C++ file matches .clang-format"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror "${sources[@]}"

# build_and_test <dir> <ctest parallelism> <cmake args...>
build_and_test() {
  local dir="$1" parallel="$2"
  shift 2
  cmake -S . -B "$dir" -DWALLET_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$parallel" --timeout 600)
}

step "build and test: RelWithDebInfo"
build_and_test build/ci "$jobs"

step "clang-tidy: common/, worker/, producer/"
mapfile -t tidy_sources < <(git ls-files 'common/*.cc' 'worker/*.cc' \
  'producer/*.cc')
# clang-tidy prints "N warnings generated" for headers it filters out;
# only findings in the project's own files fail (WarningsAsErrors).
printf '%s\n' "${tidy_sources[@]}" |
  xargs -P "$jobs" -n 4 clang-tidy -p build/ci --quiet

if [ "$quick" -eq 1 ]; then
  echo "test: quick run passed (sanitizer builds skipped)"
  exit 0
fi

step "benchmark suite: smoke run at tiny sizes (checks it works, not speed)"
bash bench/run.sh --quick --build-dir build/ci >build/bench-smoke.log 2>&1 ||
  { tail -40 build/bench-smoke.log; exit 1; }
grep -A 12 '^## Throughput' "$(ls -d bench/results/quick-* | tail -1)/results.md"

step "build and test: AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build_and_test build/asan "$jobs" -DCMAKE_BUILD_TYPE=Debug \
  -DWALLET_SANITIZE=address -DWALLET_BUILD_BENCH=OFF

# Seconds each fuzz target runs; its seed corpus is copied, never grown in
# place. Inputs are capped at the frame limit the sockets enforce
# (kCommandFrameBytesMax in common/protocol.h).
fuzz_seconds=60
fuzz_input_bytes_max=$((16 * 1024))

step "fuzzers: ${fuzz_seconds} s each on the command and query decoders"
cmake -S . -B build/fuzz -DWALLET_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DWALLET_SANITIZE=fuzzer \
  -DWALLET_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs" \
  --target command_decoder_fuzz query_decoder_fuzz
mkdir -p build/fuzz/artifacts
for target in command query; do
  corpus="$(mktemp -d)"
  cp tests/fuzz/corpus/"$target"/* "$corpus"/
  if ! build/fuzz/tests/fuzz/"$target"_decoder_fuzz \
      -max_total_time="$fuzz_seconds" -max_len="$fuzz_input_bytes_max" \
      -artifact_prefix=build/fuzz/artifacts/"$target"- "$corpus" \
      >build/fuzz/"$target".log 2>&1; then
    rm -rf "$corpus"
    tail -40 build/fuzz/"$target".log
    echo "fuzz: $target decoder failed; the input is in build/fuzz/artifacts/"
    exit 1
  fi
  rm -rf "$corpus"
  runs="$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' \
    build/fuzz/"$target".log)"
  echo "fuzz: $target decoder: $runs, no failure"
done

step "build and test: ThreadSanitizer (clang)"
TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/tsan.supp" \
  build_and_test build/tsan "$jobs" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DWALLET_SANITIZE=thread \
  -DWALLET_BUILD_BENCH=OFF

echo
echo "test: all checks passed"
