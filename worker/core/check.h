// Always-on invariant checks for the wallet core: going on with a broken
// invariant could corrupt money, so a failed check prints what broke and
// aborts, in release builds too.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace wallet {

inline void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "wallet invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace wallet
