#!/usr/bin/env bash
# Installs the Debian packages the wallet builds and tests with, and does
# nothing when they are all present. Debian 12; run as root (or via sudo).
#
#   scripts/setup.sh                          the project's packages
#   scripts/setup.sh --best-effort NAME PKG...  other packages (bench/setup.sh):
#                                             NAME labels the output, and a
#                                             package that cannot be
#                                             installed is not an error
set -euo pipefail

label="setup"
best_effort=0
packages=(
  g++ cmake make pkg-config
  libzmq3-dev cppzmq-dev        # ZeroMQ and its C++ binding
  libmsgpack-cxx-dev            # MessagePack
  libxxhash-dev                 # key hashing
  googletest libgtest-dev       # tests
  libbenchmark-dev              # micro-benchmarks
  clang clang-format clang-tidy libclang-rt-14-dev  # lint, fuzzers
)
if [ "${1:-}" = "--best-effort" ]; then
  best_effort=1
  label="$2"
  packages=("${@:3}")
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "$label: all ${#packages[@]} packages present"
  exit 0
fi

echo "$label: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
if [ "$best_effort" -eq 0 ]; then
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    echo "$label: some packages could not be installed"
fi
