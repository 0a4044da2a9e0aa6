#!/usr/bin/env bash
# Installs the Debian packages the wallet builds and tests with, and does
# nothing when they are all present. Debian 12; run as root (or via sudo).
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  libzmq3-dev cppzmq-dev        # ZeroMQ and its C++ binding
  libmsgpack-cxx-dev            # MessagePack
  libxxhash-dev                 # key hashing
  googletest libgtest-dev       # tests
  libbenchmark-dev              # micro-benchmarks
  clang clang-format clang-tidy libclang-rt-14-dev  # lint, fuzzers
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
